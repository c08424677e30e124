"""Django's database cache, with a write that costs one statement.

What writes the cache is the worker: its django-q2 cluster saves its statistics (what
``qinfo``, ``qmonitor`` and the admin show) on every guard cycle, twice a second. The rate
limits do not use the cache: they count in a table of their own (``core.ratelimits``).
Django's ``DatabaseCache.set`` counts the whole table, opens a transaction, reads the row,
then updates or inserts it: five or six round trips per write. Here a write is one upsert
(``INSERT … ON CONFLICT (cache_key) DO UPDATE``, which PostgreSQL and SQLite both speak),
and the table is counted (and culled past ``MAX_ENTRIES``) on one write in
``CULL_CHECK_EVERY`` instead of on every one. Rows are stored exactly as Django stores
them, so every other operation is Django's own.
"""

from __future__ import annotations

import base64
import contextlib
import pickle
import random
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.db import DatabaseError, connections, router, transaction
from django.utils.timezone import now as tz_now

CULL_CHECK_EVERY = 50


class DatabaseCache(DjangoDatabaseCache):
    def set(
        self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        if connection.vendor not in ("postgresql", "sqlite"):
            super().set(key, value, timeout, version)
            return
        key = self.make_and_validate_key(key, version=version)
        timeout = self.get_backend_timeout(timeout)
        if timeout is None:
            expires = datetime.max
        else:
            expires = datetime.fromtimestamp(timeout, tz=UTC if settings.USE_TZ else None)
        expires = connection.ops.adapt_datetimefield_value(expires.replace(microsecond=0))
        encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
        table = connection.ops.quote_name(self._table)
        with connection.cursor() as cursor:
            if random.randrange(CULL_CHECK_EVERY) == 0:
                cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - our table name
                count = cursor.fetchone()[0]
                if count > self._max_entries:
                    self._cull(db, cursor, tz_now().replace(microsecond=0), count)
            upsert = (
                f"INSERT INTO {table} (cache_key, value, expires) VALUES (%s, %s, %s) "  # noqa: S608
                "ON CONFLICT (cache_key) DO UPDATE "
                "SET value = EXCLUDED.value, expires = EXCLUDED.expires"
            )
            # As Django's own set: a cache write that fails is not the request's failure,
            # and inside a transaction a savepoint keeps that transaction usable.
            with contextlib.suppress(DatabaseError):
                if connection.in_atomic_block:
                    with transaction.atomic(using=db):
                        cursor.execute(upsert, [key, encoded, expires])
                else:
                    cursor.execute(upsert, [key, encoded, expires])
