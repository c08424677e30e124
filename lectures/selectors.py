"""Reads of lectures, as a given user may see them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from django.db.models import CharField, IntegerField, Q, QuerySet, TextField, Value
from django.db.models.functions import Coalesce

from accounts.models import User
from accounts.selectors import user_is_api_admin
from lectures.models import TRANSCRIPT_STATUSES, Lecture, audio_storage_key


def lecture_list_for_user(
    *, user: User, course_id: uuid.UUID | None = None, status: str | None = None
) -> QuerySet[Lecture]:
    """The lectures linked to ``user``, newest first."""
    queryset = (
        Lecture.objects.filter(links__user=user)
        .select_related("transcript")
        .order_by("-created_at", "id")
    )
    if course_id is not None:
        queryset = queryset.filter(course_id=course_id)
    if status:
        queryset = queryset.filter(status=status)
    return queryset


def lecture_get_for_user(
    *, user: User, lecture_id: uuid.UUID, admin_override: bool = False
) -> Lecture | None:
    """The lecture if ``user`` is linked to it; with ``admin_override``, API admins get
    any lecture (on the routes that give admins that power)."""
    if admin_override and user_is_api_admin(user):
        return Lecture.objects.select_related("transcript").filter(pk=lecture_id).first()
    return lecture_list_for_user(user=user).filter(pk=lecture_id).first()


def lecture_status_for_user(*, user: User, lecture_id: uuid.UUID) -> dict[str, Any] | None:
    """The status fields of the lecture, with its transcript's, if ``user`` is linked to
    it; a lecture without a transcript reads as ``none``, 0 and ``""``."""
    return (
        Lecture.objects.filter(pk=lecture_id, links__user=user)
        .values(
            "id",
            "status",
            "progress",
            "error_message",
            "updated_at",
            transcript_status=Coalesce(
                "transcript__status", Value(TRANSCRIPT_STATUSES[0]), output_field=CharField()
            ),
            transcript_progress=Coalesce(
                "transcript__progress", Value(0), output_field=IntegerField()
            ),
            transcript_error=Coalesce(
                "transcript__error_message", Value(""), output_field=TextField()
            ),
        )
        .first()
    )


def lecture_list_all() -> QuerySet[Lecture]:
    return Lecture.objects.select_related("transcript").order_by("-created_at", "id")


def lecture_list_stale(*, stale_before: datetime) -> QuerySet[Lecture]:
    """Lectures in ``downloading``/``extracting`` with no heartbeat since ``stale_before``."""
    return (
        Lecture.objects.filter(status__in=Lecture.RUNNING)
        .filter(
            Q(heartbeat_at__lt=stale_before)
            | Q(heartbeat_at__isnull=True, updated_at__lt=stale_before)
        )
        .select_related("course")
        .order_by("updated_at")
    )


def lecture_list_lost_queued(*, queued_before: datetime) -> QuerySet[Lecture]:
    """Lectures ``queued`` since before ``queued_before``: their job is most likely lost."""
    return Lecture.objects.filter(status=Lecture.Status.QUEUED, updated_at__lt=queued_before)


def lecture_list_failed(
    *,
    lecture_ids: list[uuid.UUID] | None = None,
    course_id: uuid.UUID | None = None,
    since: date | None = None,
) -> QuerySet[Lecture]:
    """Failed lectures, narrowed by id, course and the day they last changed."""
    queryset = Lecture.objects.filter(status=Lecture.Status.FAILED).select_related("course")
    if lecture_ids:
        queryset = queryset.filter(pk__in=lecture_ids)
    if course_id is not None:
        queryset = queryset.filter(course_id=course_id)
    if since is not None:
        queryset = queryset.filter(updated_at__date__gte=since)
    return queryset.order_by("updated_at")


def lecture_audio_keys() -> Iterator[tuple[str, str]]:
    """``(storage key, row label)`` of every lecture's stored audio (for ``purge_orphans``)."""
    stored = Lecture.objects.exclude(audio_storage_key="").values_list("pk", "audio_storage_key")
    for pk, key in stored.iterator():
        yield key, f"lecture {pk}"


def lecture_audio_keys_in_flight() -> Iterator[str]:
    """Keys a running job stores its audio under a moment before the row points at them."""
    running = Lecture.objects.filter(status__in=Lecture.RUNNING).values_list("pk", flat=True)
    for pk in running.iterator():
        yield audio_storage_key(pk)


def lecture_staged_upload_keys() -> Iterator[tuple[str, str]]:
    """``(storage key, row label)`` of uploads a lecture's job has still to read (for
    ``purge_orphans``). A finished job deletes its upload; one left by a lecture that ended
    without its job (reaped, say) is no longer needed, so it counts as an orphan."""
    waiting = Lecture.objects.filter(status__in=(Lecture.Status.QUEUED, *Lecture.RUNNING))
    staged = waiting.exclude(upload_storage_key="").values_list("pk", "upload_storage_key")
    for pk, key in staged.iterator():
        yield key, f"lecture {pk} (upload)"
