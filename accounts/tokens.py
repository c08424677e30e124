"""Verification of Clerk session tokens (RS256 JWTs), and the local dev-auth key.

Keys come from ``CLERK_JWT_KEY`` (a PEM: no network at all) or from ``CLERK_JWKS_URL``
(fetched once, cached, re-fetched only for an unknown ``kid`` and then at most every
``CLERK_JWKS_MIN_REFETCH_SECONDS``). Every failure is a ``TokenError`` whose message is
safe to show: "invalid token" or "token expired".
"""

from __future__ import annotations

import copy
import functools
import logging
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from accounts.models import CLERK_ID_MAX_LENGTH

logger = logging.getLogger(__name__)

ALGORITHM = "RS256"
DEV_KEY_ID = "studybuddy-dev"
DEV_ISSUER = "studybuddy-dev"
# Far above any real session token (Clerk's are about 1 KB); stops work on junk early.
MAX_TOKEN_LENGTH = 8192
_MAX_JWKS_BYTES = 512 * 1024
# Bounds on what a stream of junk kids can make the cache hold.
_MAX_KID_LENGTH = 256
_MAX_UNKNOWN_KIDS = 1024


class TokenError(Exception):
    """The token is not acceptable; ``str(error)`` is safe to return to the client."""

    def __init__(self, message: str = "invalid token") -> None:
        super().__init__(message)


class ExpiredToken(TokenError):
    def __init__(self) -> None:
        super().__init__("token expired")


class JwksCache:
    """The signing keys of a JWKS URL, keyed by ``kid``.

    Fetched on first use and again only when a token names a ``kid`` the cache does not
    know, such re-fetches at most once per ``min_refetch`` seconds. A ``kid`` that a fetch
    did not turn up is remembered as unknown for ``negative_ttl`` seconds. Threads that
    miss at the same time share one fetch: the others wait for it and read its result.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        min_refetch: float,
        negative_ttl: float,
        failure_backoff: float,
    ) -> None:
        self.url = url
        # After a failed fetch, requests fail fast for this long instead of queueing on it.
        self.failure_backoff = failure_backoff
        self.timeout = timeout
        self.min_refetch = min_refetch
        self.negative_ttl = negative_ttl
        self._keys: dict[str, Any] = {}
        self._unknown_until: dict[str, float] = {}
        self._lock = threading.Lock()
        self._generation = 0
        self._loaded = False
        self._good_generation = 0  # the generation of the last successful fetch
        self._last_refetch: float | None = None
        self._retry_after = 0.0

    def key_for(self, kid: str) -> Any:
        key = self._keys.get(kid)
        if key is not None:
            return key
        if len(kid) > _MAX_KID_LENGTH or self._unknown_until.get(kid, 0.0) > time.monotonic():
            raise TokenError()
        generation = self._generation
        with self._lock:
            if self._generation == generation and self._may_fetch():
                self._fetch()
            key = self._keys.get(kid)
            if key is None:
                # Only a key set fetched since this request began proves the kid unknown; a
                # failed or skipped fetch proves nothing, so the kid may succeed next time.
                if self._good_generation > generation:
                    self._remember_unknown(kid)
                raise TokenError()
            return key

    def _remember_unknown(self, kid: str) -> None:
        now = time.monotonic()
        if len(self._unknown_until) >= _MAX_UNKNOWN_KIDS:
            self._unknown_until = {k: t for k, t in self._unknown_until.items() if t > now}
        if len(self._unknown_until) < _MAX_UNKNOWN_KIDS:
            self._unknown_until[kid] = now + self.negative_ttl

    def _may_fetch(self) -> bool:
        now = time.monotonic()
        if now < self._retry_after:
            return False
        if not self._loaded:
            return True
        # A re-fetch for an unknown kid: real rotations are rare, random kids are not.
        return self._last_refetch is None or now - self._last_refetch >= self.min_refetch

    def _fetch(self) -> None:
        self._generation += 1
        refetch = self._loaded
        try:
            keys = self._download()
        except (httpx.HTTPError, ValueError, jwt.PyJWKError) as exc:
            self._retry_after = time.monotonic() + self.failure_backoff
            logger.warning("JWKS fetch from %s failed: %s", self.url, exc)
            return
        self._keys = keys
        self._unknown_until.clear()
        self._loaded = True
        if refetch:
            # Only a successful re-fetch starts the wait; a failed one has its own back-off.
            self._last_refetch = time.monotonic()
        self._good_generation = self._generation

    def _download(self) -> dict[str, Any]:
        # The timeout bounds each network wait; the deadline bounds a slow trickle too.
        deadline = time.monotonic() + 2 * self.timeout
        with (
            httpx.Client(timeout=self.timeout, follow_redirects=False) as client,
            client.stream("GET", self.url, headers={"Accept": "application/json"}) as resp,
        ):
            resp.raise_for_status()
            body = bytearray()
            for chunk in resp.iter_bytes():
                body += chunk
                if len(body) > _MAX_JWKS_BYTES:
                    raise ValueError("JWKS document too large")
                if time.monotonic() > deadline:
                    raise ValueError("JWKS fetch took too long")
        keyset = jwt.PyJWKSet.from_json(body.decode("utf-8"))
        return {
            key.key_id: key.key
            for key in keyset.keys
            if key.key_id
            and key.algorithm_name == ALGORITHM
            and key.public_key_use in (None, "sig")
        }


@dataclass(frozen=True)
class _Verification:
    key: Any
    issuer: str | None
    authorized_parties: tuple[str, ...]


_jwks_cache: JwksCache | None = None
_jwks_cache_lock = threading.Lock()


def jwks_cache() -> JwksCache:
    global _jwks_cache
    with _jwks_cache_lock:
        if _jwks_cache is None or _jwks_cache.url != settings.CLERK_JWKS_URL:
            _jwks_cache = JwksCache(
                settings.CLERK_JWKS_URL,
                timeout=settings.CLERK_JWKS_TIMEOUT_SECONDS,
                min_refetch=settings.CLERK_JWKS_MIN_REFETCH_SECONDS,
                negative_ttl=settings.CLERK_JWKS_NEGATIVE_CACHE_SECONDS,
                failure_backoff=settings.CLERK_JWKS_FAILURE_BACKOFF_SECONDS,
            )
        return _jwks_cache


@receiver(setting_changed)
def _reset_caches(*, setting: str, **kwargs: Any) -> None:
    global _jwks_cache, _dev_private_key
    if setting.startswith(("CLERK_", "DEV_AUTH")):
        _verified_tokens.clear()
    if setting.startswith("CLERK_"):
        _jwks_cache = None
    if setting.startswith("DEV_AUTH"):
        _dev_private_key = None


@functools.lru_cache(maxsize=4)
def _public_key(pem: str) -> Any:
    """``CLERK_JWT_KEY`` parsed once: given the PEM text, PyJWT parses it on every call."""
    return serialization.load_pem_public_key(pem.encode())


def _verification_for(header: dict[str, Any]) -> _Verification:
    kid = header.get("kid")
    if settings.DEV_AUTH_ENABLED and kid == DEV_KEY_ID:
        return _Verification(dev_private_key().public_key(), DEV_ISSUER, ())
    parties = tuple(settings.CLERK_AUTHORIZED_PARTIES)
    issuer = settings.CLERK_ISSUER or None
    if settings.CLERK_JWT_KEY:
        return _Verification(_public_key(settings.CLERK_JWT_KEY), issuer, parties)
    if settings.CLERK_JWKS_URL and isinstance(kid, str) and kid:
        return _Verification(jwks_cache().key_for(kid), issuer, parties)
    raise TokenError()


def is_valid_subject(sub: object) -> bool:
    """A ``sub`` the user table can hold as it is: 1 to ``CLERK_ID_MAX_LENGTH`` printable
    characters (no control, format or separator characters other than the space).

    The ``sub`` becomes the unique Clerk id, so it cannot be cleaned the way profile claims
    are: two different ids would meet. NUL (which PostgreSQL refuses in text), lone
    surrogates (which cannot be encoded) and line breaks (which forge log lines) are refused
    with the token instead.
    """
    return isinstance(sub, str) and 0 < len(sub) <= CLERK_ID_MAX_LENGTH and sub.isprintable()


class VerifiedTokens:
    """Session tokens this process verified in full, with their claims, until their ``exp``.

    A client polling a route sends the same token many times; its signature, issuer,
    parties and times were checked the first time and cannot change before it expires, so
    a second RS256 verification proves nothing new. Keyed by the whole token, signature
    included: a token that differs in any byte is verified afresh, and only tokens that
    passed are ever put in. An entry is not used past the token's ``exp`` (the full check,
    with its leeway, decides from then on), a setting of the checks changing clears all of
    them, and the least recently used entries go past ``max_entries``. What can change
    during a token's life (the user deleted or deactivated) is checked by the caller on
    every request, not here.
    """

    def __init__(self, max_entries: int = 1024) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._entries.get(token)
            if entry is None:
                return None
            if entry[0] <= time.time():
                del self._entries[token]
                return None
            self._entries.move_to_end(token)
        # A copy: nothing a request does to its claims reaches the next request.
        return _copy_claims(entry[1])

    def put(self, token: str, claims: dict[str, Any]) -> None:
        expires = claims.get("exp")
        if not isinstance(expires, int | float) or isinstance(expires, bool):
            return
        with self._lock:
            self._entries[token] = (float(expires), _copy_claims(claims))
            self._entries.move_to_end(token)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


_SCALARS = (str, int, float, bool, type(None))


def _copy_claims(claims: dict[str, Any]) -> dict[str, Any]:
    """A copy that shares nothing mutable with ``claims``: a session token's claims are
    usually all strings and numbers, which a shallow copy already keeps apart."""
    if all(isinstance(value, _SCALARS) for value in claims.values()):
        return dict(claims)
    return copy.deepcopy(claims)


_verified_tokens = VerifiedTokens()


def verify_session_token(token: str) -> dict[str, Any]:
    """The claims of a valid Clerk session token, or ``TokenError``."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise TokenError()
    claims = _verified_tokens.get(token)
    if claims is not None:
        return claims
    claims = _verify(token)
    _verified_tokens.put(token, claims)
    return claims


def _verify(token: str) -> dict[str, Any]:
    """The full check of a token: signature, algorithm, key, issuer, times and claims."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenError() from None
    # Checked before any key is chosen: "none", HS256 with the public key as a secret and
    # every other algorithm are refused outright.
    if header.get("alg") != ALGORITHM:
        raise TokenError()
    verification = _verification_for(header)
    try:
        claims = jwt.decode(
            token,
            verification.key,
            algorithms=[ALGORITHM],
            issuer=verification.issuer,
            leeway=settings.CLERK_LEEWAY_SECONDS,
            options={"require": ["exp", "sub", "sid"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError:
        raise ExpiredToken() from None
    except jwt.PyJWTError:
        raise TokenError() from None
    if not is_valid_subject(claims.get("sub")):
        raise TokenError()
    if not isinstance(claims.get("sid"), str) or not claims["sid"]:
        raise TokenError()
    if verification.authorized_parties and claims.get("azp") not in verification.authorized_parties:
        raise TokenError()
    if claims.get("sts") == "pending":
        raise TokenError()
    return claims


# --- Dev auth ---------------------------------------------------------------------------

_dev_private_key: rsa.RSAPrivateKey | None = None
_dev_key_lock = threading.Lock()


def dev_private_key() -> rsa.RSAPrivateKey:
    """The local dev-auth signing key, created under ``var/`` on first use."""
    global _dev_private_key
    with _dev_key_lock:
        if _dev_private_key is None:
            path = settings.DEV_AUTH_KEY_FILE
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                pem = key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
                path.write_bytes(pem)
                path.chmod(0o600)
            _dev_private_key = serialization.load_pem_private_key(path.read_bytes(), None)
        return _dev_private_key


def mint_dev_token(*, name: str, ttl_seconds: int) -> str:
    """A session token for the dev user ``name``, accepted only with dev auth enabled."""
    now = int(time.time())
    claims = {
        "sub": f"user_dev_{name}",
        "sid": f"sess_dev_{uuid.uuid4().hex}",
        "iss": DEV_ISSUER,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
        "email": f"{name}@example.com",
        "first_name": name,
    }
    return jwt.encode(claims, dev_private_key(), algorithm=ALGORITHM, headers={"kid": DEV_KEY_ID})
