"""Database helpers every app may use."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

Row = tuple[Any, ...]
FetchOne = Callable[[BaseDatabaseWrapper, str, Sequence[Any]], "Row | None"]


def prepared_cursor(connection: BaseDatabaseWrapper) -> CursorWrapper:
    """A cursor for a written-out statement that runs on (nearly) every request: on the
    project's PostgreSQL backend (``core.backends.postgresql``) the statement is parsed and
    planned once per connection, then only executed; PostgreSQL's planning of a three-table
    join costs several times its execution. Elsewhere (SQLite) the connection's cursor."""
    prepared = getattr(connection, "prepared_cursor", None)
    return prepared() if prepared is not None else connection.cursor()


def fetch_one(connection: BaseDatabaseWrapper, sql: str, params: Sequence[Any]) -> Row | None:
    """The first row of a written-out statement run on a ``prepared_cursor``."""
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()
