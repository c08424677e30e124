"""Users as Clerk sees them, and who counts as an API admin."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.models import User

# Column limits of AbstractUser; Clerk claims longer than these are cut, not refused.
_EMAIL_MAX = 254
_NAME_MAX = 150


def user_get_or_create_from_clerk(
    *, clerk_id: str, email: str = "", first_name: str = "", last_name: str = ""
) -> User:
    """The local user for a Clerk ``sub``, created on first sight.

    Safe under concurrent first requests of one user: the unique ``clerk_id`` decides the
    race and the losers read the winner's row. Profile claims, when present, are copied.
    """
    profile = {
        "email": (email or "")[:_EMAIL_MAX],
        "first_name": (first_name or "")[:_NAME_MAX],
        "last_name": (last_name or "")[:_NAME_MAX],
    }
    user = User.objects.filter(clerk_id=clerk_id).first()
    if user is None:
        try:
            with transaction.atomic():
                user = User(clerk_id=clerk_id, username=clerk_id[:150], **profile)
                user.set_unusable_password()
                user.save(force_insert=True)
                return user
        except IntegrityError:
            user = User.objects.get(clerk_id=clerk_id)
    changed = [name for name, value in profile.items() if value and getattr(user, name) != value]
    if changed:
        for name in changed:
            setattr(user, name, profile[name])
        user.save(update_fields=changed)
    return user


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
