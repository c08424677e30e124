"""Every lecture status change, in one place: the status, what it resets, its log line.

A status implies values for other fields: a lecture queued again has no progress, no error
and no worker's claim; a completed one is at 100 % with its completion time. The services,
the audio job and the commands all move lectures through ``changes``/``move``, so adding a
status or a field is one edit to ``_implied``. Each change logs one structured line,
``lecture=… from=… to=… key=value``, with whatever tells the story (seconds, bytes,
attempt, error).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from core.jobs import log_status_change
from lectures.models import Lecture, LectureStatus

logger = logging.getLogger("studybuddy.lectures")

Status = LectureStatus
DELETED = "deleted"  # not a status: the last word of a lecture's log


def _implied(to: str) -> dict[str, Any]:
    """What a move to ``to`` writes besides the status."""
    no_claim = {"claim_token": None, "heartbeat_at": None}
    return {
        Status.QUEUED: {"progress": 0, "error_message": "", "completed_at": None, **no_claim},
        # The claim itself (token, heartbeat, attempt) is written by the job that claims.
        Status.DOWNLOADING: {"progress": 0, "error_message": ""},
        Status.EXTRACTING: {},
        Status.COMPLETED: {
            "progress": 100,
            "error_message": "",
            "completed_at": timezone.now(),
            **no_claim,
        },
        Status.FAILED: no_claim,
    }[Status(to)]


def changes(to: str, **fields: object) -> dict[str, Any]:
    """The fields a move to ``to`` writes: the status, what it implies, then ``fields``."""
    return {"status": to, **_implied(to), **fields}


def move(
    lecture: Lecture, to: str, fields: Mapping[str, object] | None = None, **details: object
) -> None:
    """Move a lecture the caller holds locked (``select_for_update``) to ``to``, save it and
    log the change with ``details``."""
    previous = lecture.status
    for name, value in changes(to, **(fields or {})).items():
        setattr(lecture, name, value)
    lecture.save()
    log_transition(lecture.id, previous, to, **details)


def created(lecture: Lecture, **details: object) -> None:
    """Log a new lecture (it is created ``queued``)."""
    log_transition(lecture.id, None, lecture.status, **details)


def deleted(lecture_id: uuid.UUID, status: str, **details: object) -> None:
    """Log a lecture that was deleted while in ``status``."""
    log_transition(lecture_id, status, DELETED, **details)


def log_transition(
    lecture_id: uuid.UUID | str, old: str | None, new: str, **fields: object
) -> None:
    """Log ``old → new`` for a lecture, with whatever else tells the story (seconds, bytes,
    attempt, error); ``None`` fields are left out."""
    log_status_change(logger, f"lecture={lecture_id}", old, new, **fields)
