"""Reads about users: what they use, counted without importing the apps that hold it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import BigIntegerField, Count, Expression, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce

from accounts.models import User


def _per_user(relation: str, aggregate: Count | Sum) -> Coalesce:
    """A correlated subquery over one of the user's reverse relations (``documents``,
    ``enrollments``, ``lecture_links``): several totals in one query without multiplying
    joins. The related model is found through the relation, so this app imports none of
    the apps above it."""
    rel = User._meta.get_field(relation)
    owner = rel.field.name
    totals = (
        rel.related_model.objects.filter(**{owner: OuterRef("pk")})
        .order_by()
        .values(owner)
        .annotate(total=aggregate)
        .values("total")
    )
    return Coalesce(Subquery(totals, output_field=BigIntegerField()), 0)


def user_usage_annotations() -> dict[str, Coalesce]:
    """``courses``, ``lectures``, ``documents`` and ``document_bytes`` of each user, as
    annotations (the API's ``/api/me`` and the admin's user pages)."""
    return {
        "usage_courses": _per_user("enrollments", Count("*")),
        "usage_lectures": _per_user("lecture_links", Count("*")),
        "usage_documents": _per_user("documents", Count("*")),
        "usage_document_bytes": _per_user("documents", Sum("size_bytes")),
    }


@dataclass(frozen=True)
class UsageCount:
    """One more count of ``usage``, kept by an app above this one (``search`` counts the
    embedded passages): its name in the body, what it means, and ``per_user()``, an
    expression over users (``OuterRef("pk")`` is the user) built at each read, so it may
    follow the settings."""

    name: str
    help_text: str
    per_user: Callable[[], Expression]


_usage_counts: dict[str, UsageCount] = {}


def usage_count_register(*, name: str, help_text: str, per_user: Callable[[], Expression]) -> None:
    """Add a count to every user's ``usage`` (``/api/me`` and its schema). Called from an
    app's ``ready()``: this app imports none of the apps above it."""
    _usage_counts[name] = UsageCount(name=name, help_text=help_text, per_user=per_user)


def usage_counts_registered() -> list[UsageCount]:
    return list(_usage_counts.values())


def user_usage(*, user: User) -> dict[str, int]:
    """What the user has (``courses``, ``lectures``, ``documents``, ``document_bytes`` and
    the registered counts), in one query whatever the number of rows."""
    annotations = {
        **user_usage_annotations(),
        **{f"usage_{c.name}": c.per_user() for c in usage_counts_registered()},
    }
    row = User.objects.filter(pk=user.pk).values(**annotations).first()
    # None: deleted meanwhile (another process may still hold the user a moment).
    return {name.removeprefix("usage_"): (row or {}).get(name, 0) for name in annotations}


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
