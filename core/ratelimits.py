"""Where the rate limits count (``core.throttling``): one atomic step per request.

GCRA keeps one number per key, the moment its bucket is empty again. A request may pass
when that moment, moved on by one request's interval, is at most one period ahead; then the
moved moment is stored. Here that read, check and write is one step of the store, so two
requests of one user arriving together are counted one after the other:

* the database (``CACHE_URL=db://``, the default): one upsert on the UNLOGGED table
  ``core_rate_limit_bucket`` whose update only happens when the request may pass
  (``INSERT … ON CONFLICT (key) DO UPDATE … WHERE``), so a passing request costs one
  statement; a refused one reads the row again for its ``Retry-After``;
* Redis (``CACHE_URL=redis://…``): one Lua script, atomic by Redis' design, the key
  expiring when its bucket is empty;
* this process' memory: the test settings only (a count that other processes do not see
  is no limit).

The time is the caller's clock, not the store's, as the rest of the rate limit's is.
"""

from __future__ import annotations

import contextlib
import random
import threading
from typing import Any, Protocol

from django.conf import settings
from django.db import connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from core.models import RateLimitBucket

# One write in this many also deletes the rows whose moment has passed. The table has no
# index on the moment, so that every write can stay a HOT update (no index entry to add);
# the deletion scans the table, whose rows are only the keys used within their period.
CLEANUP_EVERY = 1000
# The memory store forgets its passed moments once it holds this many keys.
MEMORY_SWEEP_ABOVE = 10_000
# A Redis that hangs must not hang the API with it: the rate limit waits for it instead.
REDIS_TIMEOUT_SECONDS = 2.0
REDIS_KEY_PREFIX = "studybuddy:ratelimit:"


class RateLimitStore(Protocol):
    def spend(self, key: str, *, now: float, interval: float, period: float) -> float | None:
        """Count one request against ``key``'s bucket if it may pass (``None``); else,
        counting nothing, the seconds until one may."""

    def clear(self) -> None:
        """Forget every count."""


def _next_empty_at(stored: float | None, now: float, interval: float) -> float:
    return max(stored or 0.0, now) + interval


class DatabaseStore:
    """The table ``core_rate_limit_bucket`` of the default database (``RateLimitBucket``)."""

    def __init__(self) -> None:
        self._statements: dict[str, tuple[str, str, str]] = {}

    def _sql(self, connection: BaseDatabaseWrapper) -> tuple[str, str, str]:
        statements = self._statements.get(connection.vendor)
        if statements is None:
            statements = self._statements[connection.vendor] = _bucket_statements(connection)
        return statements

    def spend(self, key: str, *, now: float, interval: float, period: float) -> float | None:
        connection = connections[router.db_for_write(RateLimitBucket)]
        spend = self._sql(connection)[0]
        with _savepoint_if_in_transaction(connection), connection.cursor() as cursor:
            self._maybe_clean_up(cursor, connection, now)
            cursor.execute(spend, _spend_params(key, now, interval, period))
            if cursor.rowcount:
                return None
            return self._refused_wait(cursor, connection, key, now, interval, period)

    def _maybe_clean_up(self, cursor: Any, connection: BaseDatabaseWrapper, now: float) -> None:
        if random.randrange(CLEANUP_EVERY) == 0:
            cursor.execute(self._sql(connection)[2], [now])

    def _refused_wait(
        self,
        cursor: Any,
        connection: BaseDatabaseWrapper,
        key: str,
        now: float,
        interval: float,
        period: float,
    ) -> float:
        cursor.execute(self._sql(connection)[1], [key])
        row = cursor.fetchone()
        # No row: deleted in between as passed, so the next request is one interval away.
        empty_at = _next_empty_at(row[0] if row else None, now, interval)
        return max(empty_at - period - now, 0.0)

    def clear(self) -> None:
        RateLimitBucket.objects.all().delete()


def _savepoint_if_in_transaction(connection: BaseDatabaseWrapper) -> Any:
    """Inside a transaction (a test's, or a caller's) a failing statement must not spoil
    it: a savepoint keeps it usable, as Django's own cache writes do."""
    if connection.in_atomic_block:
        return transaction.atomic(using=connection.alias)
    return contextlib.nullcontext()


def _spend_params(key: str, now: float, interval: float, period: float) -> list[Any]:
    return [key, now + interval, interval, interval, now + period]


def _bucket_statements(connection: BaseDatabaseWrapper) -> tuple[str, str, str]:
    """The upsert that counts a request only when it may pass (``EXCLUDED`` holds the
    moment of an empty bucket: now plus one interval), the read of a refused request's
    moment, and the deletion of passed moments. ``GREATEST`` is ``MAX`` on SQLite."""
    quote = connection.ops.quote_name
    meta = RateLimitBucket._meta
    table = quote(meta.db_table)
    key = quote(meta.get_field("key").column)
    empty_at = quote(meta.get_field("empty_at").column)
    greatest = "MAX" if connection.vendor == "sqlite" else "GREATEST"
    moved = f"{greatest}(bucket.{empty_at} + %s, EXCLUDED.{empty_at})"
    spend = (
        f"INSERT INTO {table} AS bucket ({key}, {empty_at}) VALUES (%s, %s) "  # noqa: S608 - model names
        f"ON CONFLICT ({key}) DO UPDATE SET {empty_at} = {moved} WHERE {moved} <= %s"
    )
    read = f"SELECT {empty_at} FROM {table} WHERE {key} = %s"  # noqa: S608 - model names
    cleanup = f"DELETE FROM {table} WHERE {empty_at} < %s"  # noqa: S608 - model names
    return spend, read, cleanup


# KEYS[1]: the bucket; ARGV: the time, the interval, the time plus the period. Numbers travel as
# strings both ways (a Lua number returned to Redis would lose its fraction).
_SPEND_SCRIPT = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local empty_at = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now) + interval
if empty_at > limit then
  return string.format('%.6f', empty_at - limit)
end
local ttl = math.max(1, math.ceil((empty_at - now) * 1000))
redis.call('SET', KEYS[1], string.format('%.6f', empty_at), 'PX', ttl)
return false
"""


class RedisStore:
    """One key per bucket, ``studybuddy:ratelimit:…``, gone when the bucket is empty."""

    def __init__(self, url: str) -> None:
        import redis

        self._client = redis.Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        self._script = self._client.register_script(_SPEND_SCRIPT)

    def spend(self, key: str, *, now: float, interval: float, period: float) -> float | None:
        wait = self._script(keys=[REDIS_KEY_PREFIX + key], args=[now, interval, now + period])
        return None if wait is None else float(wait)

    def clear(self) -> None:
        keys = list(self._client.scan_iter(match=REDIS_KEY_PREFIX + "*", count=1000))
        if keys:
            self._client.delete(*keys)


class MemoryStore:
    """This process' memory (the test settings' store)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, float] = {}

    def spend(self, key: str, *, now: float, interval: float, period: float) -> float | None:
        with self._lock:
            empty_at = _next_empty_at(self._buckets.get(key), now, interval)
            if empty_at - now > period:
                return empty_at - period - now
            self._buckets[key] = empty_at
            if len(self._buckets) > MEMORY_SWEEP_ABOVE:
                self._buckets = {k: v for k, v in self._buckets.items() if v >= now}
            return None

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()


_store: tuple[str, RateLimitStore] | None = None
_store_lock = threading.Lock()


def rate_limit_store() -> RateLimitStore:
    """The store ``RATE_LIMIT_STORE`` names (``db://``, ``redis://…``, ``memory://``),
    one per process, made again when the setting changes."""
    global _store
    url = settings.RATE_LIMIT_STORE
    current = _store
    if current is not None and current[0] == url:
        return current[1]
    with _store_lock:
        if _store is None or _store[0] != url:
            _store = (url, _make_store(url))
        return _store[1]


def _make_store(url: str) -> RateLimitStore:
    scheme = url.split(":", 1)[0].lower()
    if scheme == "db":
        return DatabaseStore()
    if scheme in ("redis", "rediss", "unix"):
        return RedisStore(url)
    if scheme == "memory":
        return MemoryStore()
    raise ValueError(f"RATE_LIMIT_STORE names no store: {url!r}")
