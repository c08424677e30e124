"""Writes to transcripts: queueing transcription, importing captions."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from functools import partial

from django.conf import settings
from django.db import transaction
from django_q.tasks import async_task

from accounts.models import User
from accounts.selectors import user_is_api_admin
from core.exceptions import InvalidInput, ObjectNotFound, StateConflict
from core.jobs import move, requeue_stale_rows
from lectures.models import Lecture
from transcripts.captions import (
    CaptionsError,
    TooManyCues,
    check_cue_count,
    parse_captions,
)
from transcripts.models import (
    Transcript,
    TranscriptChunk,
    TranscriptSegment,
    TranscriptSource,
    TranscriptStatus,
)
from transcripts.signals import segments_replaced

logger = logging.getLogger("studybuddy.lectures")

TASK = "transcripts.tasks.transcribe_lecture"
Status = TranscriptStatus


class TranscriptNotReady(StateConflict):
    code = "transcript_not_ready"
    default_detail = "The transcript is not ready."


class TranscriptionDisabled(StateConflict):
    code = "transcription_disabled"
    default_detail = "Transcription is turned off on this server."


def transcription_enabled() -> bool:
    return settings.TRANSCRIPTION_BACKEND == "openai"


def _locked(lecture_id: uuid.UUID) -> tuple[Lecture, Transcript | None]:
    """The lecture and its transcript, locked in that order (every writer takes the
    lecture's lock first, so two requests cannot both create the transcript row)."""
    lecture = Lecture.objects.select_for_update().filter(pk=lecture_id).first()
    if lecture is None:
        raise ObjectNotFound()
    transcript = Transcript.objects.select_for_update().filter(lecture=lecture).first()
    return lecture, transcript


def _queue(lecture: Lecture, transcript: Transcript | None, **details: object) -> Transcript:
    transcript = transcript or Transcript(lecture=lecture)
    move(
        transcript,
        Status.QUEUED,
        {"attempt_count": 0, "source": TranscriptSource.PROVIDER},
        **details,
    )
    transaction.on_commit(partial(transcript_enqueue, lecture_id=str(lecture.id)))
    return transcript


def transcript_request(*, lecture: Lecture, user: User | None, force: bool = False) -> Transcript:
    """Queue transcription of a completed lecture whose transcript is ``none`` or
    ``failed``; an API admin (or ``force``: the admin action, the command) may also redo a
    completed one. Anything queued or running, or audio not ready, is a conflict."""
    if not transcription_enabled():
        raise TranscriptionDisabled()
    with transaction.atomic():
        locked, transcript = _locked(lecture.pk)
        if locked.status != Lecture.Status.COMPLETED:
            raise StateConflict(f"The audio is not ready: the lecture is {locked.status}.")
        current = transcript.status if transcript else Status.NONE
        if current in Transcript.BUSY:
            raise StateConflict(f"A transcription of this lecture is already {current}.")
        redo = force or (user is not None and user_is_api_admin(user))
        if current == Status.COMPLETED and not redo:
            raise StateConflict("The lecture is already transcribed.")
        return _queue(locked, transcript, reason="requested")


def transcript_queue_after_audio(*, lecture_id: uuid.UUID) -> bool:
    """With a backend configured, queue the transcript of a lecture whose audio has just
    completed, unless it already has one (captions imported meanwhile, say).

    Never raises: the audio job has succeeded whatever happens here; a transcript that
    could not be queued is left to ``transcribe_lectures --missing``.
    """
    if not transcription_enabled():
        return False
    try:
        with transaction.atomic():
            locked, transcript = _locked(lecture_id)
            if locked.status != Lecture.Status.COMPLETED:
                return False
            if transcript is not None and transcript.status != Status.NONE:
                return False
            _queue(locked, transcript, reason="audio completed")
        return True
    except Exception:
        logger.exception("transcript=%s could not be queued after the audio", lecture_id)
        return False


def transcript_enqueue(*, lecture_id: str) -> bool:
    """Put the transcript job on the task queue; a broker that refuses is logged (the
    transcript stays ``queued``; ``transcribe_lectures`` queues it again)."""
    try:
        async_task(TASK, lecture_id, task_name=f"transcript {lecture_id}", group="transcripts")
    except Exception:
        logger.exception("transcript=%s could not be queued", lecture_id)
        return False
    return True


def _captions_refused(current: str, *, admin: bool) -> StateConflict | None:
    if current in (Status.NONE, Status.FAILED) or admin:
        return None
    return StateConflict(f"The lecture's transcript is {current}; captions are not taken.")


def transcript_import_captions(
    *, lecture: Lecture, user: User, data: bytes, media_type: str
) -> Transcript:
    """Make captions the client already has the lecture's transcript (``source``
    ``captions``): allowed when the transcript is ``none`` or ``failed`` (an API admin:
    always, replacing whatever is there and stopping a running job). Malformed captions
    are a 400 naming the line; nothing is stored then.

    The work is bounded before it starts: the transcript's state (409) and the number of
    cues (``CAPTIONS_MAX_CUES``, 400) are checked before the body is parsed, and the lecture
    is locked only to swap the segments in, not while they are parsed.
    """
    if not data:
        raise InvalidInput("The captions are empty.")
    admin = user_is_api_admin(user)
    refused = _captions_refused(_status(lecture.pk), admin=admin)
    if refused:
        raise refused
    try:
        check_cue_count(data, settings.CAPTIONS_MAX_CUES)
        segments = parse_captions(data, media_type)
    except TooManyCues as error:
        raise InvalidInput(str(error)) from None
    except CaptionsError as error:
        raise InvalidInput(f"Malformed captions: {error}.") from None
    rows = [
        TranscriptSegment.of(lecture_id=lecture.pk, index=i, start=s.start, end=s.end, text=s.text)
        for i, s in enumerate(segments)
    ]
    with transaction.atomic():
        locked, transcript = _locked(lecture.pk)
        # Checked again under the lock: a job may have been queued while the body was parsed.
        refused = _captions_refused(transcript.status if transcript else Status.NONE, admin=admin)
        if refused:
            raise refused
        TranscriptSegment.objects.filter(lecture=locked).delete()
        TranscriptSegment.insert(rows)
        segments_replaced.send(Transcript, lecture_id=locked.pk)
        TranscriptChunk.objects.filter(lecture=locked).delete()
        transcript = transcript or Transcript(lecture=locked)
        move(
            transcript,
            Status.COMPLETED,
            {
                "source": TranscriptSource.CAPTIONS,
                "model": "",
                "language": "",
                "segment_count": len(segments),
                "attempt_count": 0,
            },
            source="captions",
            segments=len(segments),
        )
    return transcript


def _status(lecture_id: uuid.UUID) -> str:
    """The transcript's status, read without a lock."""
    found = Transcript.objects.filter(lecture_id=lecture_id).values_list("status", flat=True)
    return found.first() or Status.NONE


def transcript_requeue_for_command(*, lecture_id: uuid.UUID, enqueue: bool = True) -> str:
    """``transcribe_lectures``: queue the lecture's transcription whatever its transcript
    (a completed one is redone), unless it is queued or running or the audio is not
    ready. Returns ``"queued"`` or why not."""
    with transaction.atomic():
        locked, transcript = _locked(lecture_id)
        if locked.status != Lecture.Status.COMPLETED:
            return f"skipped, the lecture is {locked.status}"
        current = transcript.status if transcript else Status.NONE
        if current in Transcript.BUSY:
            return f"skipped, already {current}"
        transcript = transcript or Transcript(lecture=locked)
        move(
            transcript,
            Status.QUEUED,
            {"attempt_count": 0, "source": TranscriptSource.PROVIDER},
            reason="command",
        )
        if enqueue:
            transaction.on_commit(partial(transcript_enqueue, lecture_id=str(locked.id)))
    return "queued"


def transcript_reap_stale(*, stale_before: datetime, queued_before: datetime) -> int:
    """The scheduled reaper's part for transcripts: queue again those whose worker went
    silent before ``stale_before`` (the claim's attempt count goes on, so a recording that
    kills its worker every time still ends failed) and those ``queued`` since before
    ``queued_before`` (their task was lost). Returns how many were queued."""
    return requeue_stale_rows(
        Transcript,
        stale_before=stale_before,
        queued_before=queued_before,
        enqueue=lambda pk: transcript_enqueue(lecture_id=pk),
    )
