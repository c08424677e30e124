"""Reads over every kind of background job, for the admin's jobs dashboard.

Each app whose rows are jobs registers a :class:`JobKind` in its ``AppConfig.ready``: its
rows, their statuses and the admin page that shows them. This module reads them without
knowing any app's models.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

if TYPE_CHECKING:
    from django.db.models import Expression

    from core.models import JobRow

# "Failed in the last 24 hours" counts the rows that failed in this window.
RECENT_FAILURES = timedelta(hours=24)


@dataclass(frozen=True)
class JobKind:
    """One kind of job as operators see it.

    ``rows()`` are its jobs (all lecture rows; of the messages, the answers only), one a
    row, in the statuses named here. A row's ``updated_at`` tells since when it waits
    (a move to a waiting status writes it) and when it failed. ``shown_on`` is the admin
    model whose pages show a row (``"lectures.Lecture"`` for a transcript), ``object_id``
    the row's field holding that object's key, ``label`` what names it for people, and
    ``retry_action`` / ``failed_filter`` the action on that model's list that queues a
    failed row again and the list's query string that lists the failed ones.
    """

    name: str
    rows: Callable[[], QuerySet]
    waiting: Sequence[str]
    running: Sequence[str]
    failed: str
    shown_on: str
    object_id: str
    label: str | Expression
    completed: str = "completed"
    error_field: str = "error_message"
    retry_action: str | None = None
    failed_filter: str = ""


def job_row_kind(model: type[JobRow], **fields: Any) -> JobKind:
    """The kind of a ``core.models.JobRow`` model: its statuses from its ``states``."""
    states = model.states
    return JobKind(
        rows=model._default_manager.all,
        waiting=tuple(states.waiting),
        running=tuple(states.running),
        failed=states.failed,
        **fields,
    )


_kinds: dict[str, JobKind] = {}


def job_kind_register(kind: JobKind) -> None:
    """Show ``kind`` on the jobs dashboard (idempotent by name). Called from an app's
    ``ready()``: this app imports none of the apps."""
    _kinds[kind.name] = kind


def job_kinds() -> list[JobKind]:
    return list(_kinds.values())


@dataclass(frozen=True)
class JobCounts:
    """How many rows of a kind are in each state; ``queued`` and ``oldest_queued_at`` are
    ``None`` for a kind that never waits (an answer is written as it is asked)."""

    queued: int | None
    running: int
    failed_recently: int
    completed: int
    oldest_queued_at: datetime | None


def job_counts(kind: JobKind, *, now: datetime | None = None) -> JobCounts:
    """One aggregate query over the kind's rows, whatever their number."""
    since = (now or timezone.now()) - RECENT_FAILURES
    aggregates = {
        "running": Count("pk", filter=Q(status__in=kind.running)),
        "failed_recently": Count("pk", filter=Q(status=kind.failed, updated_at__gte=since)),
        "completed": Count("pk", filter=Q(status=kind.completed)),
    }
    if kind.waiting:
        waiting = Q(status__in=kind.waiting)
        aggregates["queued"] = Count("pk", filter=waiting)
        aggregates["oldest_queued_at"] = Min("updated_at", filter=waiting)
    counts = kind.rows().aggregate(**aggregates)
    return JobCounts(
        queued=counts.get("queued"),
        running=counts["running"],
        failed_recently=counts["failed_recently"],
        completed=counts["completed"],
        oldest_queued_at=counts.get("oldest_queued_at"),
    )


@dataclass(frozen=True)
class JobFailure:
    object_id: Any  # the key of the ``shown_on`` object
    label: str
    error: str
    failed_at: datetime


def job_failures(kind: JobKind, *, limit: int) -> list[JobFailure]:
    """The kind's ``limit`` latest failed rows, newest first, in one query."""
    rows = (
        kind.rows()
        .filter(status=kind.failed)
        .order_by("-updated_at", "-pk")
        .values_list(kind.object_id, kind.label, kind.error_field, "updated_at")[:limit]
    )
    return [
        JobFailure(object_id=object_id, label=label or "", error=error, failed_at=failed_at)
        for object_id, label, error, failed_at in rows
    ]
