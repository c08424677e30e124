"""Rows that belong to no app, and the fields every background job's row shares."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from django.db import models

if TYPE_CHECKING:
    from core.jobs import JobStates


class JobRow(models.Model):
    """The row a background job claims and works on (``core.jobs``): its status, progress
    and error for people, and the claim that keeps two workers off one row.

    A model of a job subclasses it, gives ``status`` its own choices and default, adds its
    results (``page_count``, ``segment_count``, …) and declares ``states``: its statuses
    and what a move to each writes. The job's state is a row of its own kind (a lecture,
    the lecture's transcript, the document's text), so two jobs never share a row.
    """

    status = models.CharField(max_length=16)
    progress = models.PositiveSmallIntegerField(default=0)
    error_message = models.TextField(blank=True)
    attempt_count = models.PositiveIntegerField(
        default=0, help_text="Times a worker started this job since it was last queued."
    )
    # The running job's claim: its writes are made only under this token, so a job that
    # lost its claim (row deleted or taken over) cannot overwrite anything.
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    states: ClassVar[JobStates]

    class Meta:
        abstract = True


class RateLimitBucket(models.Model):
    """One rate-limit bucket (``core.throttling``): the moment, in Unix seconds, at which
    its key's bucket is empty again. A row whose moment has passed counts as no row; such
    rows are deleted now and then by the writes themselves."""

    key = models.CharField(primary_key=True, max_length=100)
    empty_at = models.FloatField()

    class Meta:
        db_table = "core_rate_limit_bucket"

    def __str__(self) -> str:
        return self.key
