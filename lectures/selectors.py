"""Reads of lectures, as a given user may see them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q, QuerySet
from django.db.models.options import Options

from accounts.models import User
from accounts.selectors import user_is_api_admin
from core.db import FetchOne, fetch_one
from lectures.models import TRANSCRIPT_STATUSES, Lecture, LectureLink, audio_storage_key


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
    any lecture (the routes where the spec gives admins that power)."""
    if admin_override and user_is_api_admin(user):
        return Lecture.objects.select_related("transcript").filter(pk=lecture_id).first()
    return lecture_list_for_user(user=user).filter(pk=lecture_id).first()


def lecture_status_for_user(
    *, user: User, lecture_id: uuid.UUID, fetch: FetchOne = fetch_one
) -> dict[str, Any] | None:
    """The status fields of the lecture if ``user`` is linked to it, as a dict: one
    statement on the primary key and the link's unique index, no model instance. The
    route passes a ``fetch`` that also counts its rate limit
    (``core.throttling.counted_read``).

    Written out rather than built with the ORM: clients poll this route, and building and
    compiling the equivalent queryset took three times as long as running the statement,
    and it is prepared once per connection (``core.db.prepared_cursor``): PostgreSQL's
    planning of the join took five times as long as its execution. Column and table names
    still come from the models. The id is the one asked for (the
    join proves the lecture exists); a lecture without a transcript reads as "none".
    """
    connection = connections[router.db_for_read(Lecture)]
    params = [
        Lecture._meta.pk.get_db_prep_value(lecture_id, connection),
        LectureLink._meta.get_field("user").get_db_prep_value(user.pk, connection),
    ]
    row = fetch(connection, _status_sql(connection), params)
    if row is None:
        return None
    status, progress, error_message, updated_at, t_status, t_progress, t_error = row
    return {
        "id": lecture_id,
        "status": status,
        "progress": progress,
        "error_message": error_message,
        "updated_at": updated_at,
        "transcript_status": TRANSCRIPT_STATUSES[0] if t_status is None else t_status,
        "transcript_progress": t_progress or 0,
        "transcript_error": t_error or "",
    }


_STATUS_SQL: dict[str, str] = {}


def _status_sql(connection: BaseDatabaseWrapper) -> str:
    """The statement, built once per database vendor (its quoting of names)."""
    sql = _STATUS_SQL.get(connection.vendor)
    if sql is None:
        sql = _STATUS_SQL[connection.vendor] = _build_status_sql(connection.ops.quote_name)
    return sql


def _build_status_sql(quote: Callable[[str], str]) -> str:
    lecture, link = Lecture._meta, LectureLink._meta
    transcript = lecture.get_field("transcript").related_model._meta

    def column(meta: Options, field: str) -> str:
        return f"{quote(meta.db_table)}.{quote(meta.get_field(field).column)}"

    selected = [
        *(column(lecture, name) for name in ("status", "progress", "error_message", "updated_at")),
        *(column(transcript, name) for name in ("status", "progress", "error_message")),
    ]
    return (
        f"SELECT {', '.join(selected)} FROM {quote(lecture.db_table)} "  # noqa: S608 - model names
        f"INNER JOIN {quote(link.db_table)} "
        f"ON {column(link, 'lecture')} = {column(lecture, 'id')} "
        f"LEFT OUTER JOIN {quote(transcript.db_table)} "
        f"ON {column(transcript, 'lecture')} = {column(lecture, 'id')} "
        f"WHERE {column(lecture, 'id')} = %s AND {column(link, 'user')} = %s"
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
