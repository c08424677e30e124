"""Verifying Clerk's webhooks, which Clerk sends through Svix.

The scheme (Svix's, and the Standard Webhooks one): the signing secret is ``whsec_``
followed by the base64 of an HMAC key; each delivery carries ``svix-id``,
``svix-timestamp`` (Unix seconds) and ``svix-signature``, a space-separated list of
``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``. One matching ``v1`` signature
suffices (several appear while a secret is being rotated); a timestamp more than
``CLERK_WEBHOOK_TOLERANCE_SECONDS`` away from now, either way, is refused so a captured
delivery cannot be replayed later.

Written here rather than taken from the ``svix`` package: that package is Svix's whole API
client (pydantic, attrs, dateutil, httpx and more) for these few lines.
``tests/accounts/test_webhook_signatures.py`` checks this code against the package's own
test vectors.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping

from rest_framework import status

from core.exceptions import DomainError

_PREFIX = "whsec_"


class InvalidSignature(DomainError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid_signature"
    default_detail = "The webhook signature is missing or invalid."


def signing_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_…`` secret (the prefix is optional); ``ValueError`` if the
    rest is not base64."""
    try:
        return base64.b64decode(secret.removeprefix(_PREFIX), validate=True)
    except binascii.Error as exc:
        raise ValueError("not a webhook signing secret") from exc


def sign(*, secret: str, msg_id: str, timestamp: int | str, body: bytes) -> str:
    """The ``v1,…`` signature of a delivery (what Svix sends; the tests sign with it)."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(
    *,
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    tolerance_seconds: int,
    now: float | None = None,
) -> None:
    """Raise :class:`InvalidSignature` unless ``body`` is what Svix signed, recently."""
    msg_id = headers.get("svix-id", "")
    timestamp = headers.get("svix-timestamp", "")
    signatures = headers.get("svix-signature", "")
    if not (msg_id and timestamp and signatures) or len(msg_id) > 255:
        raise InvalidSignature()
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise InvalidSignature()
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance_seconds:
        raise InvalidSignature("The webhook timestamp is too old or too new.")
    # The header's own digits are what was signed.
    expected = sign(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body)
    expected_bytes = expected.encode()
    for candidate in signatures.split(" "):
        # compare_digest takes the same time wherever the first difference is.
        if candidate.startswith("v1,") and hmac.compare_digest(candidate.encode(), expected_bytes):
            return
    raise InvalidSignature()
