"""Users as Clerk sees them, and who counts as an API admin."""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.db import IntegrityError, connection, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import User
from core.text import without_control_characters


def _profile_claim(value: str, field: str) -> str:
    """A profile claim as the column can hold it: control characters removed (NUL among
    them, which PostgreSQL refuses in text), then cut to the column's length. A claim is
    cleaned, not refused: it is Clerk's copy of what the person typed, and refusing it
    would lock them out."""
    limit = User._meta.get_field(field).max_length
    return without_control_characters(value or "")[:limit]


def user_get_or_create_from_clerk(
    *, clerk_id: str, email: str = "", first_name: str = "", last_name: str = ""
) -> User:
    """The local user for a Clerk ``sub``, created on first sight.

    Safe under concurrent first requests of one user: the unique ``clerk_id`` decides the
    race and the losers read the winner's row. Profile claims, when present, are copied,
    cleaned of control characters and cut to their columns. The ``sub`` must already be
    valid (``tokens.is_valid_subject``): it is stored as it is.
    """
    profile = {
        "email": _profile_claim(email, "email"),
        "first_name": _profile_claim(first_name, "first_name"),
        "last_name": _profile_claim(last_name, "last_name"),
    }
    user = _user_cache.get(clerk_id)
    # A hit never re-enters the cache: the TTL counts from the read of the row.
    from_database = user is None
    if from_database:
        user = User.objects.filter(clerk_id=clerk_id).first()
    if user is None:
        try:
            with transaction.atomic():
                user = User(clerk_id=clerk_id, **profile)
                # Never derived from the Clerk id: a cut id would let two users meet.
                user.username = str(user.id)
                user.set_unusable_password()
                user.save(force_insert=True)
                return user
        except IntegrityError:
            user = User.objects.get(clerk_id=clerk_id)
    changed = [name for name, value in profile.items() if value and getattr(user, name) != value]
    if changed:
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


def user_is_api_admin(user: User) -> bool:
    """Staff, or named in ``ADMIN_USER_IDS`` by UUID or Clerk id."""
    if not user or not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    # UUIDs compare case-insensitively; Clerk ids are case-sensitive (base62).
    admin_ids = set(settings.ADMIN_USER_IDS)
    if user.clerk_id and user.clerk_id in admin_ids:
        return True
    return str(user.id) in {value.lower() for value in admin_ids}
