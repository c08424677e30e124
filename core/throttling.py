"""Rate limits per user (or per client address), shared by every web process.

DRF's throttle machinery (scopes, rates as ``N/period``, 429 with ``Retry-After``) with
other bookkeeping: DRF keeps a list of request times per key and rewrites it on every
request, which grows with the rate (3000 floats at 3000/hour). GCRA keeps one number per
key, the time at which the key's bucket is empty again: a user may spend ``N`` requests at
once, then one more every ``period / N``. The number lives in a store every process shares
(``core.ratelimits``: a table of the database or Redis, as ``RATE_LIMIT_STORE`` says),
which checks and counts a request in one atomic step: requests of one user that arrive
together are counted one after the other, never past the rate.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from core.ratelimits import rate_limit_store

logger = logging.getLogger(__name__)

DEFAULT_SCOPE = "api"
STORE_FAILED = "rate limit not applied: its store failed"


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

    def allow_request(self, request: Request, view: Any) -> bool:
        """Count the request in its bucket; ``False``: over the rate, see ``wait()``."""
        self._wait = None
        identity = self.identity(request)
        if identity is None:
            return True
        self.scope = self.scope_for(view)
        self.num_requests, self.duration = self.parse_rate(
            api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        )
        # Hashed: a client address comes from a header and may be anything, of any length.
        digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
        self.key = f"throttle:{self.scope}:{digest}"
        try:
            self._wait = rate_limit_store().spend(
                self.key,
                now=self.timer(),
                interval=self.duration / self.num_requests,
                period=self.duration,
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
