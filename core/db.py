"""Database helpers every app may use."""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper


def prepared_cursor(connection: BaseDatabaseWrapper) -> CursorWrapper:
    """A cursor for a written-out statement that runs on (nearly) every request: on the
    project's PostgreSQL backend (``core.backends.postgresql``) the statement is parsed and
    planned once per connection, then only executed; PostgreSQL's planning of a three-table
    join costs several times its execution. Elsewhere (SQLite) the connection's cursor."""
    prepared = getattr(connection, "prepared_cursor", None)
    return prepared() if prepared is not None else connection.cursor()
