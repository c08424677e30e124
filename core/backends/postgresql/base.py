"""Django's PostgreSQL backend with a connection health check that costs no round trip.

With ``CONN_HEALTH_CHECKS`` Django checks a persistent connection before a request first
uses it, so that the first request after a database restart does not fail on a connection
the server has closed. Django's check is ``SELECT 1``: one more round trip on every request.
Here the check looks at the connection's socket instead. Between requests the connection is
idle and nothing is owed to it, so anything to read means the server has spoken on its own,
and on an idle connection it only does that to end it: the "terminating connection" error
of a restart, a ``pg_terminate_backend`` or a proxy's time-out, followed by the end of the
stream. Then the connection is closed and a new one opened, as after a failed ``SELECT 1``.
A connection that is not idle (or whose socket cannot be polled) gets Django's own check.

And ``prepared_cursor()`` (through ``core.db.prepared_cursor``): a cursor whose statements
PostgreSQL parses and plans once per connection, for the few written-out statements that
every request runs. Django's own cursors bind parameters on the client and are never
prepared, as Django's default is.
"""

from __future__ import annotations

import select
from typing import Any

import psycopg
from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.db.backends.utils import CursorWrapper
from psycopg import pq


class PreparingCursor(base.ServerBindingCursor):
    """Parameters bound on the server, and every statement prepared: parsed and planned
    on its first run on a connection, only executed after that."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        return super().execute(query, params, prepare=True, binary=kwargs.get("binary"))


class DatabaseOperations(base.DatabaseOperations):
    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> str | None:
        """What Django's query log and ``CaptureQueriesContext`` record: a prepared
        statement's cursor keeps no query text of its own, so the statement with its
        parameters, as Django shows a server-bound one."""
        executed = super().last_executed_query(cursor, sql, params)
        if executed is not None or sql is None:
            return executed
        try:
            return self.compose_sql(sql, params)
        except psycopg.errors.DataError:
            return sql


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        if params.get("prepare_threshold") is None:
            # psycopg prepares nothing without a threshold, not even a statement that
            # asks; only PreparingCursor asks, and Django's client-side cursors never do.
            params["prepare_threshold"] = 0
        return params

    def prepared_cursor(self) -> CursorWrapper:
        """As ``cursor()``, with a ``PreparingCursor`` under it."""
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            cursor = PreparingCursor(self.connection)
            loader = self.connection.adapters.get_loader(base.TIMESTAMPTZ_OID, pq.Format.TEXT)
            if self.timezone != loader.timezone:
                register_tzloader(self.timezone, cursor)
            return self._prepare_cursor(cursor)

    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is None
            or not self.health_check_enabled
            or self.health_check_done
            or self.pool
        ):
            super().close_if_health_check_failed()
            return
        if not self._server_kept_connection():
            self.close()
        self.health_check_done = True

    def _server_kept_connection(self) -> bool:
        connection = self.connection
        if connection.closed or connection.broken:
            return False
        pgconn = connection.pgconn
        if (
            pgconn.status != pq.ConnStatus.OK
            or pgconn.transaction_status != pq.TransactionStatus.IDLE
        ):
            return self.is_usable()
        try:
            poller = select.poll()
            poller.register(pgconn.socket, select.POLLIN)
            return not poller.poll(0)
        except (OSError, ValueError, psycopg.Error):
            return self.is_usable()
