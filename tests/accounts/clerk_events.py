"""Clerk's webhook deliveries as Svix sends them: real bodies, real signatures."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

from accounts.webhooks import sign

WEBHOOK_URL = "/api/webhooks/clerk"
# What Clerk's dashboard shows as the endpoint's signing secret.
SECRET = "whsec_" + base64.b64encode(b"studybuddy-test-webhook-key-0001").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"someone-elses-webhook-key-000002").decode()


def user_data(
    clerk_id: str = "user_alice",
    *,
    email: str = "alice@example.com",
    first_name: str | None = "Alice",
    last_name: str | None = "Liddell",
    updated_at: int = 1_700_000_000_000,
    created_at: int = 1_690_000_000_000,
) -> dict[str, Any]:
    """A Clerk user object: the primary address among others, times in milliseconds."""
    return {
        "id": clerk_id,
        "object": "user",
        "email_addresses": [
            {"id": "idn_other", "email_address": "old@example.com", "object": "email_address"},
            {"id": "idn_primary", "email_address": email, "object": "email_address"},
        ],
        "primary_email_address_id": "idn_primary",
        "first_name": first_name,
        "last_name": last_name,
        "created_at": created_at,
        "updated_at": updated_at,
    }


def event(event_type: str, data: dict[str, Any], *, timestamp: int | None = None) -> dict:
    return {
        "object": "event",
        "type": event_type,
        "data": data,
        "timestamp": timestamp if timestamp is not None else int(time.time() * 1000),
        "instance_id": "ins_test",
    }


def deleted_event(clerk_id: str = "user_alice", *, timestamp: int | None = None) -> dict:
    return event(
        "user.deleted", {"id": clerk_id, "object": "user", "deleted": True}, timestamp=timestamp
    )


def svix_headers(
    body: bytes,
    *,
    secret: str = SECRET,
    msg_id: str | None = None,
    timestamp: int | None = None,
    signature: str | None = None,
) -> dict[str, str]:
    """The three headers Svix sends, as Django test client keyword arguments."""
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    timestamp = int(time.time()) if timestamp is None else timestamp
    if signature is None:
        signature = sign(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body)
    return {
        "HTTP_SVIX_ID": msg_id,
        "HTTP_SVIX_TIMESTAMP": str(timestamp),
        "HTTP_SVIX_SIGNATURE": signature,
    }


def deliver(client, payload: dict | bytes, *, extra: dict | None = None, **header_options: Any):
    """POST one delivery to the webhook route, signed unless told otherwise; ``extra``:
    more of the request's META (headers, ``REMOTE_ADDR``)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.generic(
        "POST",
        WEBHOOK_URL,
        body,
        content_type="application/json",
        **svix_headers(body, **header_options),
        **(extra or {}),
    )
