"""Reads about users: what they use, counted without importing the apps that hold it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import BigIntegerField, Count, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

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
class Usage:
    courses: int
    lectures: int
    documents: int
    document_bytes: int


def user_usage(*, user: User) -> Usage:
    """What the user has, in one query whatever the number of rows."""
    row = User.objects.filter(pk=user.pk).values(**user_usage_annotations()).first()
    if row is None:  # deleted meanwhile (another process may still hold the user a moment)
        return Usage(courses=0, lectures=0, documents=0, document_bytes=0)
    return Usage(
        courses=row["usage_courses"],
        lectures=row["usage_lectures"],
        documents=row["usage_documents"],
        document_bytes=row["usage_document_bytes"],
    )


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


def user_assistant_tokens_today(*, user: User) -> int:
    """Tokens the study assistant spent for the user today (UTC), read through the
    relation as ``_per_user`` reads its models."""
    usage = User._meta.get_field("assistant_usage").related_model
    today = timezone.now().astimezone(dt.UTC).date()
    spent = usage.objects.filter(user=user, day=today).aggregate(total=Sum("total_tokens"))
    return spent["total"] or 0
