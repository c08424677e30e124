"""Users as Clerk sees them, and who counts as an API admin."""

from __future__ import annotations

import copy
import logging
import threading
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.db import IntegrityError, connection, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from accounts.models import DeletedClerkUser, User, WebhookDelivery
from accounts.tokens import is_valid_subject
from core.text import without_control_characters

logger = logging.getLogger(__name__)


def _profile_claim(value: Any, field: str) -> str:
    """A profile claim as the column can hold it: control characters removed (NUL among
    them, which PostgreSQL refuses in text), then cut to the column's length. A claim is
    cleaned, not refused: it is Clerk's copy of what the person typed, and refusing it
    would lock them out."""
    if not isinstance(value, str):
        return ""
    limit = User._meta.get_field(field).max_length
    return without_control_characters(value)[:limit]


class InvalidClerkEvent(Exception):
    """A verified event whose content is not what Clerk sends (the view answers 400);
    ``field`` names the value at fault, when one is."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ClerkUserDeleted(Exception):
    """The Clerk user was deleted in Clerk: their tokens are refused until they expire."""


def _lock_clerk_id(clerk_id: str) -> None:
    """Serialise, until the transaction ends, the first sight of a Clerk user with their
    deletion (PostgreSQL; SQLite runs one writing transaction at a time anyway)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [clerk_id])


def _profile(*, email: Any, first_name: Any, last_name: Any) -> dict[str, str]:
    return {
        "email": _profile_claim(email, "email"),
        "first_name": _profile_claim(first_name, "first_name"),
        "last_name": _profile_claim(last_name, "last_name"),
    }


def user_get_or_create_from_clerk(
    *, clerk_id: str, email: str = "", first_name: str = "", last_name: str = ""
) -> User:
    """The local user for a Clerk ``sub``, created on first sight.

    Safe under concurrent first requests of one user: the unique ``clerk_id`` decides the
    race and the losers read the winner's row. Profile claims, when present, are copied,
    cleaned of control characters and cut to their columns, until Clerk's webhooks keep the
    profile (then a token's claims may be older than it). The ``sub`` must already be valid
    (``tokens.is_valid_subject``): it is stored as it is. A user deleted in Clerk is not
    created again (:class:`ClerkUserDeleted`): that check costs a query only here, where no
    row exists.
    """
    profile = _profile(email=email, first_name=first_name, last_name=last_name)
    user = _user_cache.get(clerk_id)
    # A hit never re-enters the cache: the TTL counts from the read of the row.
    from_database = user is None
    if from_database:
        user = User.objects.filter(clerk_id=clerk_id).first()
    if user is None:
        try:
            with transaction.atomic():
                # Taken by a Clerk deletion too: a first request racing it either comes
                # first (and its user is deleted) or sees the deletion (and gets a 401).
                _lock_clerk_id(clerk_id)
                if DeletedClerkUser.objects.filter(clerk_id=clerk_id).exists():
                    raise ClerkUserDeleted(clerk_id)
                user = User(clerk_id=clerk_id, **profile)
                # Never derived from the Clerk id: a cut id would let two users meet.
                user.username = str(user.id)
                user.set_unusable_password()
                user.save(force_insert=True)
                return user
        except IntegrityError:
            user = User.objects.get(clerk_id=clerk_id)
    changed = [name for name, value in profile.items() if value and getattr(user, name) != value]
    if changed and user.clerk_updated_at is None:
        for name in changed:
            setattr(user, name, profile[name])
        # The save drops the entry; a copy that came from the cache is not put back, so
        # the next request reads the row afresh.
        user.save(update_fields=changed)
    # Not inside a transaction: a row that might yet be rolled back is never cached.
    if from_database and not connection.in_atomic_block:
        _user_cache.put(clerk_id, user)
    return user


class _UserCache:
    """Recently seen Clerk users of this process, for ``CLERK_USER_CACHE_SECONDS``.

    Saves the user query on every authenticated request. A save or delete of a user in
    this process drops its entry at once; in other processes the entry lives out its TTL,
    which therefore bounds how long a deactivated user is still let in. Callers get a copy,
    so nothing a request does to its ``request.user`` reaches the cache.
    """

    _MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, User]] = {}
        self._lock = threading.Lock()

    def get(self, clerk_id: str) -> User | None:
        entry = self._entries.get(clerk_id)
        if entry is None or entry[0] <= time.monotonic():
            return None
        return copy.copy(entry[1])

    def put(self, clerk_id: str, user: User) -> None:
        ttl = settings.CLERK_USER_CACHE_SECONDS
        if ttl <= 0:
            return
        now = time.monotonic()
        with self._lock:
            if len(self._entries) >= self._MAX_ENTRIES:
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
                if len(self._entries) >= self._MAX_ENTRIES:
                    self._entries.clear()
            self._entries[clerk_id] = (now + ttl, copy.copy(user))

    def drop(self, clerk_id: str | None) -> None:
        if clerk_id:
            with self._lock:
                self._entries.pop(clerk_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_user_cache = _UserCache()


@receiver(post_save, sender=User)
@receiver(post_delete, sender=User)
def _forget_cached_user(*, instance: User, **kwargs: Any) -> None:
    _user_cache.drop(instance.clerk_id)


@receiver(setting_changed)
def _reset_user_cache(*, setting: str, **kwargs: Any) -> None:
    if setting == "CLERK_USER_CACHE_SECONDS":
        _user_cache.clear()


# --- Deletion and Clerk's webhooks ---------------------------------------------------------


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Remove the user and everything that is theirs.

    The foreign keys cascade to their documents, enrolments and lecture links; the
    deletion signals of those apps remove the stored files once this commits, and delete
    each lecture left without a link, with its audio. Lectures shared with other users stay
    theirs. A file whose removal fails is found and removed by ``purge_orphans``.
    """
    user.delete()


def _primary_email(data: dict[str, Any]) -> str:
    primary_id = data.get("primary_email_address_id")
    addresses = data.get("email_addresses")
    if not isinstance(addresses, list):
        return ""
    for address in addresses:
        if isinstance(address, dict) and address.get("id") == primary_id:
            value = address.get("email_address")
            return value if isinstance(value, str) else ""
    return ""


# Clerk's times are milliseconds since the epoch. One before 2000 or more than a day ahead
# of this clock is no time Clerk sent; stored, it would also decide every later event's
# order (and past 2^63 the bigint column refuses it with an error).
EARLIEST_EVENT_MS = 946_684_800_000  # 2000-01-01T00:00:00Z
FUTURE_SLACK_MS = 24 * 60 * 60 * 1000


def _milliseconds(value: Any, field: str) -> int:
    """A time of an event in milliseconds since the epoch, 0 when the event has none;
    :class:`InvalidClerkEvent` when it is not an integer from 2000-01-01 to a day ahead."""
    if value is None:
        return 0
    latest = int(time.time() * 1000) + FUTURE_SLACK_MS
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not (EARLIEST_EVENT_MS <= value <= latest)
    ):
        raise InvalidClerkEvent(
            f"`{field}` is not a time in milliseconds since the epoch between 2000-01-01 "
            "and a day from now.",
            field=field,
        )
    return value


def _profile_version(data: dict[str, Any]) -> int:
    """The version of a Clerk profile: when it was last updated, else when created."""
    updated_at = _milliseconds(data.get("updated_at"), "data.updated_at")
    created_at = _milliseconds(data.get("created_at"), "data.created_at")
    return updated_at or created_at


def _clerk_user_id(data: Any) -> str:
    """The Clerk user id of an event, held to the rules of a token's ``sub``."""
    clerk_id = data.get("id") if isinstance(data, dict) else None
    if not is_valid_subject(clerk_id):
        raise InvalidClerkEvent("The event names no Clerk user.")
    return clerk_id


def _clerk_user_upsert(data: dict[str, Any], clerk_id: str, version: int) -> str:
    deleted = DeletedClerkUser.objects.select_for_update().filter(clerk_id=clerk_id).first()
    if deleted is not None:
        if version <= deleted.deleted_at_ms:
            return "ignored: the user was deleted after this event"
        deleted.delete()  # Clerk gave the id to a new user
    profile = _profile(
        email=_primary_email(data),
        first_name=data.get("first_name"),
        last_name=data.get("last_name"),
    )
    user = User.objects.select_for_update().filter(clerk_id=clerk_id).first()
    if user is None:
        try:
            with transaction.atomic():
                user = User(clerk_id=clerk_id, clerk_updated_at=version, **profile)
                user.username = str(user.id)  # as on first sight: never the Clerk id cut
                user.set_unusable_password()
                user.save(force_insert=True)
                return "created"
        except IntegrityError:
            # A first request with their token created the row meanwhile.
            user = User.objects.select_for_update().get(clerk_id=clerk_id)
    if user.clerk_updated_at is not None and version <= user.clerk_updated_at:
        return "ignored: older than the stored profile"
    for name, value in profile.items():
        setattr(user, name, value)
    user.clerk_updated_at = version
    user.save(update_fields=[*profile, "clerk_updated_at"])
    return "updated"


def _clerk_user_deleted(clerk_id: str, deleted_at_ms: int) -> str:
    _lock_clerk_id(clerk_id)
    remembered, created = DeletedClerkUser.objects.select_for_update().get_or_create(
        clerk_id=clerk_id, defaults={"deleted_at_ms": deleted_at_ms}
    )
    if not created and deleted_at_ms > remembered.deleted_at_ms:
        remembered.deleted_at_ms = deleted_at_ms
        remembered.save(update_fields=["deleted_at_ms"])
    user = User.objects.filter(clerk_id=clerk_id).first()
    if user is None:
        return "deleted (no local user)"
    user_delete(user=user)
    return "deleted"


def _webhook_deliveries_purge() -> None:
    cutoff = timezone.now() - timedelta(days=settings.CLERK_WEBHOOK_RETENTION_DAYS)
    WebhookDelivery.objects.filter(received_at__lt=cutoff).delete()


@transaction.atomic
def clerk_webhook_process(*, delivery_id: str, event: dict[str, Any], sent_at: int) -> str:
    """Apply one verified Clerk event, once per ``svix-id``; returns what was done.

    A replay or retry of a delivery already processed changes nothing (the delivery log's
    unique id decides, also between two copies arriving at once). Events may arrive out
    of order: a profile older (``data.updated_at``) than the one stored is ignored, and a
    user deleted in Clerk is remembered so that neither a late event nor a token they
    still hold creates them again. ``sent_at`` (Unix seconds, from the verified
    ``svix-timestamp``) dates a deletion when the event has no ``timestamp``. A user
    event whose time (``data.updated_at``, ``data.created_at``, a deletion's
    ``timestamp``) is not one Clerk could have sent is :class:`InvalidClerkEvent` and
    changes nothing, the delivery log included.
    """
    _webhook_deliveries_purge()
    event_type = event.get("type") if isinstance(event.get("type"), str) else ""
    data = event.get("data")
    handled = event_type in ("user.created", "user.updated", "user.deleted")
    clerk_id = _clerk_user_id(data) if handled else ""
    # The event's time is checked before the delivery is logged: the log holds what was
    # applied or ignored, never a refused event.
    if event_type == "user.deleted":
        when = _milliseconds(event.get("timestamp"), "timestamp") or sent_at * 1000
    else:
        when = _profile_version(data) if handled else 0
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                svix_id=delivery_id, event_type=event_type[:100], clerk_id=clerk_id
            )
    except IntegrityError:
        return "already processed"
    if event_type == "user.deleted":
        outcome = _clerk_user_deleted(clerk_id, when)
    elif handled:
        outcome = _clerk_user_upsert(data, clerk_id, when)
    else:
        outcome = "ignored: not a user event"
    delivery.outcome = outcome
    delivery.save(update_fields=["outcome"])
    logger.info("Clerk webhook %s %s %s: %s", delivery_id, event_type, clerk_id, outcome)
    return outcome
