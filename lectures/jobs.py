"""The lecture's audio job: fetch the recording, extract its audio, store it.

``queued → downloading → extracting → completed``, or ``failed`` with a short message.
Claims, heartbeats, take-over, attempts and failures are ``core.jobs``'; what each status
resets is the lecture's table (``Lecture.states``); this module is the job's steps. The
recording comes from the lecture's source (``lectures.fetch.sources``): its stream URL,
downloaded, or an uploaded file staged in storage, which is deleted once the job has ended
for good.
"""

from __future__ import annotations

import errno
import uuid
from pathlib import Path

from django.db import transaction

from core.jobs import Job, Outcome
from core.storage import (
    StorageUnavailable,
    storage_delete,
    storage_delete_quietly,
    storage_exists,
    storage_save_local_file,
)
from lectures.audio import AudioExtractionError, extract_audio
from lectures.fetch import RecordingSource, SourceError, StagedUpload, StreamURL
from lectures.models import Lecture, audio_storage_key
from lectures.signals import audio_completed

Status = Lecture.Status
# Share of the progress bar that the download takes; extraction and storing take the rest.
_DOWNLOAD_SHARE = 90


def lecture_process(*, lecture_id: uuid.UUID | str) -> Outcome:
    """Run the audio job for one lecture; returns what happened (for the task result).

    Never raises for a recording that cannot be processed: the lecture ends ``failed`` with
    its reason. Raises only for the unexpected, after marking the lecture ``failed``.
    """
    pk = uuid.UUID(str(lecture_id))
    try:
        return AudioJob.run(pk)
    finally:
        release_finished_upload(lecture_id=pk)


def recording_source(lecture: Lecture) -> RecordingSource:
    """What the job fetches the lecture's recording from."""
    if lecture.source == Lecture.Source.UPLOAD:
        return StagedUpload(lecture.upload_storage_key)
    return StreamURL(lecture.stream_url)


def release_finished_upload(*, lecture_id: uuid.UUID) -> bool:
    """Delete the staged upload of a lecture whose job has ended for good (completed or
    failed, whatever ended it: the job, its attempt cap, a crash); ``True`` if one went.

    Not on a lost claim: a worker that took the lecture over still needs the file. Under
    the row's lock, so an upload that queues a failed lecture again meanwhile keeps its own.
    """
    with transaction.atomic():
        lecture = (
            Lecture.objects.select_for_update()
            .filter(pk=lecture_id, status__in=(Status.COMPLETED, Status.FAILED))
            .exclude(upload_storage_key="")
            .first()
        )
        if lecture is None:
            return False
        source = StagedUpload(lecture.upload_storage_key)
        lecture.upload_storage_key = ""
        lecture.save(update_fields=["upload_storage_key"])
        transaction.on_commit(source.release, robust=True)
    return True


class AudioJob(Job):
    """The lecture's audio job, on the lecture row itself."""

    model = Lecture
    settings_prefix = "LECTURE"
    crash_message = "internal error while processing the recording"

    stored_key = ""  # set once the audio may be in storage, for ``discard``

    def work(self, scratch: Path) -> None:
        source = recording_source(self.row)
        streamed = source.streamed(scratch, self.download_progress)
        if streamed is not None:
            # Demuxed while it downloads: the audio is written as the segments arrive.
            with streamed as recording:
                audio = extract_audio(recording, scratch / "audio.m4a")
            self.move(Status.EXTRACTING, {"progress": _DOWNLOAD_SHARE}, bytes=recording.bytes_read)
        else:
            path = scratch / "source"
            source.fetch(path, self.download_progress)
            self.move(Status.EXTRACTING, {"progress": _DOWNLOAD_SHARE}, bytes=path.stat().st_size)
            audio = extract_audio(path, scratch / "audio.m4a", self.extraction_progress)
            path.unlink()
        self.stored_key = audio_storage_key(self.pk)
        # Under the row's lock: a job that lost its claim can neither store over this one
        # nor discard its file between the two steps.
        with self.holding_claim():
            _store(scratch / "audio.m4a", self.stored_key)
            self.move(
                Status.COMPLETED,
                {
                    "duration_seconds": round(audio.duration_seconds, 3),
                    "audio_size_bytes": audio.size_bytes,
                    "audio_storage_key": self.stored_key,
                },
                bytes=audio.size_bytes,
                audio_seconds=audio.duration_seconds,
                copied=audio.copied,
            )
        # What follows the audio (the transcript job, with a transcription backend) is
        # another app's: it listens. Robust: the audio has succeeded whatever they do.
        for receiver, error in audio_completed.send_robust(Lecture, lecture_id=self.pk):
            if isinstance(error, Exception):
                self.logger.error("lecture=%s %r failed: %r", self.pk, receiver, error)

    def download_progress(self, fraction: float) -> None:
        self.report_progress(int(fraction * _DOWNLOAD_SHARE))

    def extraction_progress(self, fraction: float) -> None:
        self.report_progress(_DOWNLOAD_SHARE + int(fraction * (99 - _DOWNLOAD_SHARE)))

    def failure_reason(self, error: Exception) -> str | None:
        if isinstance(error, SourceError | AudioExtractionError | AudioNotStored):
            return str(error)
        if isinstance(error, OSError) and error.errno == errno.ENOSPC:
            return "not enough disk space for the recording; retry later"
        return None

    def discard(self) -> None:
        """Remove audio this job may have stored, unless a completed lecture points at it.

        Under the row's lock: a job that took this lecture over stores and completes under
        the same lock, so its file is either already referenced here or not yet written.
        """
        if not self.stored_key:
            return
        with transaction.atomic():
            lecture = Lecture.objects.select_for_update().filter(pk=self.pk).first()
            if (
                lecture
                and lecture.status == Status.COMPLETED
                and lecture.audio_storage_key == self.stored_key
            ):
                return
            storage_delete_quietly(self.stored_key)


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
