"""Every transcript status change, in one place: the status, what it resets, its log line.

As ``lectures.state`` for the audio: the services, the transcript job, the captions import
and the commands all move a transcript through ``changes``/``move``. Each change logs one
line on the lectures logger, ``transcript=<lecture id> from=… to=… key=value``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from core.jobs import log_status_change
from transcripts.models import Transcript, TranscriptStatus

logger = logging.getLogger("studybuddy.lectures")

Status = TranscriptStatus


def _implied(to: str) -> dict[str, Any]:
    """What a move to ``to`` writes besides the status."""
    no_claim = {"claim_token": None, "heartbeat_at": None}
    return {
        Status.NONE: {"progress": 0, "error_message": "", "completed_at": None, **no_claim},
        Status.QUEUED: {"progress": 0, "error_message": "", "completed_at": None, **no_claim},
        # The claim itself (token, heartbeat, attempt) is written by the job that claims.
        Status.TRANSCRIBING: {"progress": 0, "error_message": ""},
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
    transcript: Transcript, to: str, fields: Mapping[str, object] | None = None, **details: object
) -> None:
    """Move a transcript the caller holds locked to ``to``, save it and log the change."""
    previous = transcript.status if transcript.pk and not transcript._state.adding else None
    for name, value in changes(to, **(fields or {})).items():
        setattr(transcript, name, value)
    transcript.save()
    log_transition(transcript.lecture_id, previous, to, **details)


def log_transition(
    lecture_id: uuid.UUID | str, old: str | None, new: str, **fields: object
) -> None:
    """Log ``old → new`` for a lecture's transcript; ``None`` fields are left out."""
    log_status_change(logger, f"transcript={lecture_id}", old, new, **fields)
