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
"""

from __future__ import annotations

import select

import psycopg
from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
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
