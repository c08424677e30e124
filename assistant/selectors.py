"""Reads of conversations, messages and the tokens spent."""

from __future__ import annotations

import datetime as dt
import uuid

from django.db.models import (
    BigIntegerField,
    CharField,
    Expression,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Concat, NullIf
from django.utils import timezone

from accounts.models import User
from assistant.models import Conversation, DailyUsage
from core.exceptions import ObjectNotFound


def account_of(user: User) -> str:
    """Whose quota: the Clerk id, which outlives the user row (as the rate limits')."""
    return user.clerk_id or f"user:{user.pk}"


def utc_today() -> dt.date:
    return timezone.now().astimezone(dt.UTC).date()


def tokens_today_per_user() -> Expression:
    """Tokens each user's account spent today (UTC), as an expression over users
    (``OuterRef("pk")``): ``account_of`` in SQL, so ``/api/me`` shows what the quota counts."""
    account = Coalesce(
        NullIf(OuterRef("clerk_id"), Value("")),
        Concat(Value("user:"), Cast(OuterRef("pk"), CharField())),
    )
    spent = DailyUsage.objects.filter(account=account, day=utc_today()).values("total_tokens")
    return Coalesce(Subquery(spent[:1], output_field=BigIntegerField()), 0)


def conversation_list(*, user: User) -> QuerySet[Conversation]:
    """The caller's conversations, most recently updated first."""
    return Conversation.objects.filter(owner=user).order_by("-updated_at", "-id")


def conversation_get(*, user: User, conversation_id: uuid.UUID) -> Conversation:
    """The caller's conversation; another's is not found, like one that does not exist."""
    conversation = Conversation.objects.filter(owner=user, pk=conversation_id).first()
    if conversation is None:
        raise ObjectNotFound("No such conversation.")
    return conversation


def tokens_today(*, user: User) -> int:
    """Tokens the caller's account spent today (UTC)."""
    row = DailyUsage.objects.filter(account=account_of(user), day=utc_today()).first()
    return row.total_tokens if row else 0


def usage_per_account(*, days: int) -> list[dict]:
    """Tokens per account over the last ``days`` UTC days (today included), most first."""
    since = utc_today() - dt.timedelta(days=days - 1)
    return list(
        DailyUsage.objects.filter(day__gte=since)
        .values("account")
        .annotate(
            prompt=Sum("prompt_tokens"),
            completion=Sum("completion_tokens"),
            total=Sum("total_tokens"),
        )
        .order_by("-total", "account")
    )
