"""The lecture job: download the recording, extract its audio, store it.

``queued → downloading → extracting → completed``, or ``failed`` with a short message.

A job first *claims* the lecture: it moves it out of ``queued`` (or takes over a running
lecture whose heartbeat went stale because its worker died) and gets a claim token. Every
later write is made under that token, so a job that lost its claim (the lecture was deleted,
or taken over) changes nothing and stops. That makes the job idempotent under double
delivery and keeps two workers off one lecture, without holding a database transaction
open for the length of a download.
"""

from __future__ import annotations

import errno
import logging
import shutil
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)
from django.utils import timezone

from core.storage import (
    StorageUnavailable,
    storage_delete,
    storage_delete_quietly,
    storage_exists,
    storage_save_local_file,
)
from lectures.audio import AudioExtractionError, AudioResult, extract_audio
from lectures.events import log_transition
from lectures.fetch import SourceError, fetch_recording
from lectures.models import Lecture, audio_storage_key

logger = logging.getLogger("studybuddy.lectures")

Status = Lecture.Status
# Share of the progress bar that the download takes; extraction and storing take the rest.
_DOWNLOAD_SHARE = 90
_SCRATCH_PREFIX = "studybuddy-lecture-"


class LostClaim(Exception):
    """The lecture was deleted or taken over by another worker while this job ran."""


def lecture_process(*, lecture_id: uuid.UUID | str) -> str:
    """Run the job for one lecture; returns what happened (for the task result).

    Never raises for a recording that cannot be processed: the lecture ends ``failed`` with
    its reason. Raises only for the unexpected, after marking the lecture ``failed``.
    """
    claim = _claim(uuid.UUID(str(lecture_id)))
    if claim is None:
        return "skipped"
    job = _Job(claim)
    scratch: Path | None = None
    stored_key = ""
    try:
        scratch = Path(
            tempfile.mkdtemp(prefix=f"{_SCRATCH_PREFIX}{claim.id}-", dir=settings.DOWNLOAD_TEMP_DIR)
        )
        with _Heartbeat(job):
            source = scratch / "source"
            fetch_recording(claim.stream_url, source, job.download_progress)
            job.move_to(Status.EXTRACTING, progress=_DOWNLOAD_SHARE, bytes=source.stat().st_size)
            audio = extract_audio(source, scratch / "audio.m4a", job.extraction_progress)
            source.unlink()
            stored_key = audio_storage_key(claim.id)
            job.store_and_complete(scratch / "audio.m4a", stored_key, audio)
        return "completed"
    except (SourceError, AudioExtractionError, AudioNotStored) as exc:
        _discard(stored_key, claim.id)
        job.fail(str(exc))
        return "failed"
    except LostClaim:
        _discard(stored_key, claim.id)
        logger.info("lecture=%s job stopped: claim lost", claim.id)
        return "abandoned"
    except OSError as exc:
        _discard(stored_key, claim.id)
        if exc.errno != errno.ENOSPC:
            logger.exception("lecture=%s job crashed", claim.id)
            job.fail("internal error while processing the recording")
            raise
        job.fail("not enough disk space for the recording; retry later")
        return "failed"
    except Exception:
        _discard(stored_key, claim.id)
        logger.exception("lecture=%s job crashed", claim.id)
        job.fail("internal error while processing the recording")
        raise
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


# --- Claiming ---------------------------------------------------------------------------


def _claim(lecture_id: uuid.UUID) -> Lecture | None:
    """Take the lecture for this job, or ``None`` when there is nothing to do."""
    with transaction.atomic():
        lecture = Lecture.objects.select_for_update().filter(pk=lecture_id).first()
        if lecture is None:
            return None
        previous = lecture.status
        if previous == Status.QUEUED:
            pass
        elif previous in Lecture.RUNNING and _is_stale(lecture):
            logger.warning("lecture=%s taking over from a worker that stopped", lecture.id)
        else:
            # Completed, failed, or being worked on right now: a duplicate delivery.
            return None
        if lecture.attempt_count >= settings.LECTURE_MAX_ATTEMPTS:
            lecture.status = Status.FAILED
            lecture.error_message = (
                f"processing stopped {lecture.attempt_count} times without finishing"
            )
            lecture.claim_token = None
            lecture.heartbeat_at = None
            lecture.save()
            log_transition(
                lecture.id,
                previous,
                Status.FAILED,
                attempts=lecture.attempt_count,
                error=lecture.error_message,
            )
            return None
        lecture.status = Status.DOWNLOADING
        lecture.progress = 0
        lecture.error_message = ""
        lecture.attempt_count += 1
        lecture.claim_token = uuid.uuid4()
        lecture.heartbeat_at = timezone.now()
        lecture.save()
    remove_scratch_of(lecture.id)
    log_transition(lecture.id, previous, Status.DOWNLOADING, attempt=lecture.attempt_count)
    return lecture


def _is_stale(lecture: Lecture) -> bool:
    limit = timezone.now() - timedelta(seconds=settings.LECTURE_STALE_SECONDS)
    return lecture.heartbeat_at is None or lecture.heartbeat_at < limit


def remove_scratch_of(lecture_id: uuid.UUID) -> None:
    """Scratch directories that a killed worker left for this lecture."""
    root = Path(settings.DOWNLOAD_TEMP_DIR or tempfile.gettempdir())
    for leftover in root.glob(f"{_SCRATCH_PREFIX}{lecture_id}-*"):
        shutil.rmtree(leftover, ignore_errors=True)


# --- The running job ------------------------------------------------------------------


class _Job:
    """Writes to the claimed lecture, each one only under the claim token."""

    def __init__(self, lecture: Lecture) -> None:
        self.id = lecture.id
        self.token = lecture.claim_token
        self.status = lecture.status
        self.lost = threading.Event()
        self._progress = 0
        self._started = self._written_at = time.monotonic()

    def _update(self, **fields) -> None:
        if self.lost.is_set():
            raise LostClaim
        query = Lecture.objects.filter(pk=self.id, claim_token=self.token)
        try:
            updated = query.update(**fields, updated_at=timezone.now())
        except (OperationalError, InterfaceError):
            if connection.in_atomic_block:
                raise
            # The database dropped the connection (a restart, a failover): a job that has
            # downloaded for an hour should not fail for that. One fresh connection, then
            # an error if the database is really gone.
            logger.warning("lecture=%s database connection lost; reconnecting", self.id)
            connection.close()
            updated = query.update(**fields, updated_at=timezone.now())
        if not updated:
            self.lost.set()
            raise LostClaim

    def download_progress(self, fraction: float) -> None:
        self._report(int(fraction * _DOWNLOAD_SHARE))

    def extraction_progress(self, fraction: float) -> None:
        # 100 is only ever written with the audio stored: extraction stops at 99.
        self._report(_DOWNLOAD_SHARE + int(fraction * (99 - _DOWNLOAD_SHARE)))

    def _report(self, progress: int) -> None:
        """Throttled: at most one write a second, and only when the percentage moved."""
        if self.lost.is_set():
            raise LostClaim
        progress = min(99, progress)
        now = time.monotonic()
        if progress > self._progress and now - self._written_at >= 1.0:
            self._update(progress=progress, heartbeat_at=timezone.now())
            self._progress = progress
            self._written_at = now

    def move_to(self, status: str, *, progress: int, **details: object) -> None:
        self._update(status=status, progress=progress, heartbeat_at=timezone.now())
        log_transition(self.id, self.status, status, seconds=self.elapsed(), **details)
        self.status = status
        self._progress = progress

    def heartbeat(self) -> None:
        self._update(heartbeat_at=timezone.now())

    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def store_and_complete(self, path: Path, key: str, audio: AudioResult) -> None:
        """Store the audio and mark the lecture completed, holding the claimed row's lock:
        a job that lost its claim can neither store over this one nor discard its file
        between the two steps."""
        with transaction.atomic():
            claimed = (
                Lecture.objects.select_for_update()
                .filter(pk=self.id, claim_token=self.token)
                .values_list("pk", flat=True)
                .first()
            )
            if claimed is None:
                self.lost.set()
                raise LostClaim
            _store(path, key)
            self.complete(audio, key)

    def complete(self, audio: AudioResult, key: str) -> None:
        self._update(
            status=Status.COMPLETED,
            progress=100,
            completed_at=timezone.now(),
            duration_seconds=round(audio.duration_seconds, 3),
            audio_size_bytes=audio.size_bytes,
            audio_storage_key=key,
            error_message="",
            claim_token=None,
            heartbeat_at=None,
        )
        log_transition(
            self.id,
            self.status,
            Status.COMPLETED,
            seconds=self.elapsed(),
            bytes=audio.size_bytes,
            audio_seconds=audio.duration_seconds,
            copied=audio.copied,
        )

    def fail(self, message: str) -> None:
        try:
            self._update(
                status=Status.FAILED,
                error_message=message[:500],
                claim_token=None,
                heartbeat_at=None,
            )
        except LostClaim:
            return
        log_transition(self.id, self.status, Status.FAILED, seconds=self.elapsed(), error=message)


class _Heartbeat:
    """Refreshes the claim's heartbeat from a thread while the job works (downloads and
    extraction block the job's own thread for long stretches)."""

    def __init__(self, job: _Job) -> None:
        self.job = job
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job.id}", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._stop.wait(settings.LECTURE_HEARTBEAT_SECONDS):
                close_old_connections()
                try:
                    self.job.heartbeat()
                except LostClaim:
                    return
                except Exception:  # a database blip: the next beat tries again
                    logger.warning("lecture=%s heartbeat failed", self.job.id, exc_info=True)
        finally:
            connection.close()


# --- Storage ----------------------------------------------------------------------------


class AudioNotStored(Exception):
    def __str__(self) -> str:
        return "could not store the audio; try again later"


def _store(path: Path, key: str) -> str:
    """Put the audio file in storage under exactly ``key`` (replacing a leftover); on
    local storage the scratch file is moved there, not copied."""
    try:
        if storage_exists(key):
            storage_delete(key)
        storage_save_local_file(key, path)
    except StorageUnavailable as exc:
        raise AudioNotStored from exc
    except OSError as exc:
        storage_delete_quietly(key)
        raise AudioNotStored from exc
    return key


def _discard(key: str, lecture_id: uuid.UUID) -> None:
    """Remove audio this job may have stored, unless a completed lecture points at it.

    Under the row's lock: a job that took this lecture over stores and completes under the
    same lock, so its file is either already referenced here or not yet written.
    """
    if not key:
        return
    with transaction.atomic():
        lecture = Lecture.objects.select_for_update().filter(pk=lecture_id).first()
        if lecture and lecture.status == Status.COMPLETED and lecture.audio_storage_key == key:
            return
        storage_delete_quietly(key)
