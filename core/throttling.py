"""Rate limits per user (or per client address), shared by every web process.

DRF's throttle machinery (scopes, rates as ``N/period``, 429 with ``Retry-After``) with
other bookkeeping: DRF keeps a list of request times per key and rewrites it on every
request, which grows with the rate (3000 floats at 3000/hour). GCRA keeps one number per
key, the time at which the key's bucket is empty again: a user may spend ``N`` requests at
once, then one more every ``period / N``. The number lives in a store every process shares
(``core.ratelimits``: the database table or Redis, as ``CACHE_URL`` says), which checks and
counts a request in one atomic step: requests of one user that arrive together are counted
one after the other, never past the rate.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.db.backends.base.base import BaseDatabaseWrapper
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from core.db import FetchOne, Row, fetch_one
from core.ratelimits import rate_limit_store

logger = logging.getLogger(__name__)

DEFAULT_SCOPE = "api"
STORE_FAILED = "rate limit not applied: its store failed"


@dataclass(frozen=True)
class Bucket:
    """Where one request counts: the key in the store, and its rate as GCRA has it (one
    request every ``interval`` seconds, ``period / interval`` of them at once)."""

    key: str
    interval: float
    period: float


class _BucketThrottle(SimpleRateThrottle):
    """GCRA over DRF's rate parsing; subclasses say which scope and whose bucket."""

    def __init__(self) -> None:
        # DRF reads the rate here, but the scope is only known with the view; the rates are
        # read per request from the settings, so an overridden setting takes effect.
        self._wait: float | None = None

    def scope_for(self, view: Any) -> str:
        raise NotImplementedError

    def identity(self, request: Request) -> str | None:
        """Whose bucket; ``None``: not limited by this throttle."""
        raise NotImplementedError

    def bucket(self, request: Request, view: Any) -> Bucket | None:
        identity = self.identity(request)
        if identity is None:
            return None
        self.scope = self.scope_for(view)
        self.num_requests, self.duration = self.parse_rate(
            api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        )
        # Hashed: a client address comes from a header and may be anything, of any length.
        digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
        self.key = f"throttle:{self.scope}:{digest}"
        return Bucket(self.key, self.duration / self.num_requests, self.duration)

    def allow_request(self, request: Request, view: Any) -> bool:
        bucket = self.bucket(request, view)
        return bucket is None or self.spend(bucket)

    def spend(self, bucket: Bucket) -> bool:
        """Count one request in ``bucket``; ``False``: over the rate, see ``wait()``."""
        self._wait = None
        try:
            self._wait = rate_limit_store().spend(
                bucket.key, now=self.timer(), interval=bucket.interval, period=bucket.period
            )
        except Exception:
            # A store that is down must not take the API with it: the limit waits for it.
            logger.warning(STORE_FAILED, exc_info=True)
            return True
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait


class ScopedUserRateThrottle(_BucketThrottle):
    """Every authenticated route, per user. A view names the scope of its actions in
    ``throttle_scopes`` (``{"download": "lecture_requests"}``, or ``{"transcript:post": …}``
    for one method of an action that answers several) or of all of them in
    ``throttle_scope``; anything else counts against ``api``."""

    def scope_for(self, view: Any) -> str:
        scopes = getattr(view, "throttle_scopes", None) or {}
        action = getattr(view, "action", None)
        method = getattr(getattr(view, "request", None), "method", "").lower()
        return (
            scopes.get(f"{action}:{method}")
            or scopes.get(action)
            or getattr(view, "throttle_scope", None)
            or DEFAULT_SCOPE
        )

    def identity(self, request: Request) -> str | None:
        user = request.user
        if user is None or not user.is_authenticated:
            return None  # the schema and the docs; other routes refused the request already
        # The Clerk id outlives the local row: deleting the account (DELETE /api/me) and
        # coming back with the same token finds a new row, and must not find a fresh limit.
        return f"user:{user.clerk_id}"


class AddressRateThrottle(_BucketThrottle):
    """Routes without a user (the webhook), per client address (``WEB_PROXY_COUNT``)."""

    def scope_for(self, view: Any) -> str:
        return getattr(view, "throttle_scope", None) or DEFAULT_SCOPE

    def identity(self, request: Request) -> str | None:
        return f"address:{self.get_ident(request)}"


class CountedWithReadUserRateThrottle(ScopedUserRateThrottle):
    """``ScopedUserRateThrottle`` for a polled route that reads one row: on ``GET`` and
    ``HEAD`` it counts nothing when DRF asks, and leaves the count to the view, which
    makes it with its read (``counted_read``), in the same statement where the store is
    the database on PostgreSQL: one round trip instead of two on every poll. The rate, the
    scope and the 429 are the same. Any other method (``OPTIONS``, or one the route does
    not allow) never reaches the read, so it is counted here, as on every route."""

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method not in ("GET", "HEAD"):
            return super().allow_request(request, view)
        request.deferred_count = _DeferredCount(self, self.bucket(request, view))
        return True


class _DeferredCount:
    def __init__(self, throttle: _BucketThrottle, bucket: Bucket | None) -> None:
        self.throttle = throttle
        self.bucket = bucket
        self.counted = bucket is None

    def fetch_one(
        self, connection: BaseDatabaseWrapper, sql: str, params: Sequence[Any]
    ) -> Row | None:
        """The row of the read, the request counted on the way; over the rate,
        ``Throttled``."""
        if not self.counted:
            result = self._spend_and_fetch(connection, sql, params)
            if result is not None:
                self.counted = True
                wait, row = result
                if wait is not None:
                    raise Throttled(wait)
                return row
        # The two steps: where the store has no combined statement, or it failed (and was
        # rolled back): then the count alone tells a failing store (the request goes
        # through, with the warning every route logs) from a failing read (raised).
        self.settle()
        return fetch_one(connection, sql, params)

    def _spend_and_fetch(
        self, connection: BaseDatabaseWrapper, sql: str, params: Sequence[Any]
    ) -> tuple[float | None, Row | None] | None:
        combined = getattr(rate_limit_store(), "spend_and_fetch", None)
        if combined is None:
            return None
        bucket = self.bucket
        try:
            return combined(
                bucket.key,
                now=self.throttle.timer(),
                interval=bucket.interval,
                period=bucket.period,
                connection=connection,
                sql=sql,
                params=params,
            )
        except DatabaseError:
            return None

    def settle(self) -> None:
        """Count the request if its read has not (a malformed id made none, say)."""
        if self.counted:
            return
        self.counted = True
        if not self.throttle.spend(self.bucket):
            raise Throttled(self.throttle.wait())


@contextmanager
def counted_read(request: Request) -> Iterator[FetchOne]:
    """In a view of ``CountedWithReadUserRateThrottle``: ``fetch_one(connection, sql,
    params)`` for its one read, which counts the request as it reads. A request whose view
    raises before it reads (a 404 for a malformed id) is counted on the way out, and over
    the rate its answer is the 429, as it is where DRF's throttles count before the view."""
    count = getattr(request, "deferred_count", None)
    if count is None:
        raise ImproperlyConfigured("counted_read() needs CountedWithReadUserRateThrottle")
    try:
        yield count.fetch_one
    finally:
        count.settle()
