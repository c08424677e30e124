"""The transcript job: the stored audio, cut into chunks, sent to the provider, merged.

``queued → transcribing → completed``, or ``failed`` with a short message; the lecture and
its audio are never touched. Claims, heartbeats, take-over and attempts are
``core.jobs``'; what each status resets is the transcript's table (``Transcript.states``).

The job's thread encodes the chunks one after the other while ``TRANSCRIPTION_CONCURRENCY``
threads send them; each answer is stored (``TranscriptChunk``) as it arrives, under the
claim, so a job that fails or is killed resumes with the chunks not yet answered. The
segments are written in one transaction with the move to ``completed``.
"""

from __future__ import annotations

import errno
import threading
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

from core import metrics
from core.jobs import Job, LostClaim, Outcome
from core.logging import carry_context
from core.storage import StorageUnavailable, StoredChunks
from lectures.models import Lecture
from transcripts.chunking import (
    Chunk,
    ChunkEncodingError,
    SpeechFormat,
    bit_rates_for,
    encode_chunk,
    fitting_chunk_seconds,
    plan_chunks,
    speech_format,
    stored_audio_duration,
)
from transcripts.merge import ChunkResult, merge_chunks
from transcripts.models import (
    Transcript,
    TranscriptChunk,
    TranscriptSegment,
    TranscriptSource,
    TranscriptStatus,
)
from transcripts.provider import (
    ChunkAnswer,
    ProviderError,
    ProviderSettings,
    Stopped,
    TranscriptionClient,
    parse_answer,
)
from transcripts.signals import segments_replaced

Status = TranscriptStatus
MAX_OVERLAP_SECONDS = 10.0


class TranscriptionError(Exception):
    """An expected failure of the job; ``str()`` is the message for people."""


def transcript_process(*, lecture_id: uuid.UUID | str) -> Outcome:
    """Run the transcript job for one lecture; returns what happened (the task result).

    Never raises for a transcription that cannot be done: the transcript ends ``failed``
    with its reason. Raises only for the unexpected, after marking it ``failed``.
    """
    return TranscriptJob.run(uuid.UUID(str(lecture_id)))


def provider_settings() -> ProviderSettings:
    return ProviderSettings(
        base_url=settings.TRANSCRIPTION_BASE_URL,
        api_key=settings.TRANSCRIPTION_API_KEY,
        model=settings.TRANSCRIPTION_MODEL,
        language=settings.TRANSCRIPTION_LANGUAGE,
        timeout=float(settings.TRANSCRIPTION_TIMEOUT_SECONDS),
        retries=settings.TRANSCRIPTION_RETRIES,
        backoff=settings.TRANSCRIPTION_RETRY_BACKOFF_SECONDS,
        backoff_cap=settings.TRANSCRIPTION_RETRY_BACKOFF_CAP_SECONDS,
        max_answer_bytes=settings.TRANSCRIPTION_MAX_ANSWER_BYTES,
    )


class TranscriptJob(Job):
    """The transcript job, on the lecture's ``Transcript`` row."""

    model = Transcript
    settings_prefix = "TRANSCRIPTION"
    crash_message = "internal error while transcribing"

    def failure_reason(self, error: Exception) -> str | None:
        if isinstance(error, TranscriptionError | ProviderError | ChunkEncodingError):
            return str(error)
        if isinstance(error, OSError) and error.errno == errno.ENOSPC:
            return "not enough disk space to prepare the audio; retry later"
        return None

    # --- The steps ----------------------------------------------------------------------

    def work(self, scratch: Path) -> None:
        if settings.TRANSCRIPTION_BACKEND != "openai":
            raise TranscriptionError("transcription is turned off (TRANSCRIPTION_BACKEND=none)")
        audio = self._fetch_audio(scratch / "audio.m4a")
        fmt = speech_format()
        max_bytes = settings.TRANSCRIPTION_MAX_UPLOAD_BYTES
        overlap = min(
            settings.TRANSCRIPTION_OVERLAP_SECONDS,
            MAX_OVERLAP_SECONDS,
            settings.TRANSCRIPTION_CHUNK_SECONDS / 4,
        )
        chunk_seconds = fitting_chunk_seconds(
            settings.TRANSCRIPTION_CHUNK_SECONDS, overlap, max_bytes, fmt
        )
        chunks = plan_chunks(
            stored_audio_duration(audio), chunk_seconds=chunk_seconds, overlap=overlap
        )
        plan = (
            f"{chunk_seconds:g}+{overlap:g}s {settings.TRANSCRIPTION_MODEL} "
            f"{settings.TRANSCRIPTION_LANGUAGE or 'auto'}"
        )[:200]
        answers = self._answers_so_far(plan)
        resumed = len(answers)
        todo = [chunk for chunk in chunks if chunk.index not in answers]
        self._total = len(chunks)
        self._send_all(audio, todo, answers, plan, fmt, scratch)
        segments = merge_chunks([ChunkResult(c.start, c.end, answers[c.index]) for c in chunks])
        language = settings.TRANSCRIPTION_LANGUAGE or next(
            (a.language for a in answers.values() if a.language), ""
        )
        with self.holding_claim():
            TranscriptSegment.objects.filter(lecture_id=self.pk).delete()
            TranscriptSegment.insert(
                [
                    TranscriptSegment.of(
                        lecture_id=self.pk, index=i, start=s.start, end=s.end, text=s.text
                    )
                    for i, s in enumerate(segments)
                ],
            )
            segments_replaced.send(Transcript, lecture_id=self.pk)
            self.move(
                Status.COMPLETED,
                {
                    "source": TranscriptSource.PROVIDER,
                    "model": settings.TRANSCRIPTION_MODEL[:100],
                    "language": language[:32],
                    "segment_count": len(segments),
                },
                chunks=len(chunks),
                resumed=resumed,
                segments=len(segments),
            )
            TranscriptChunk.objects.filter(lecture_id=self.pk).delete()

    def _fetch_audio(self, dest: Path) -> Path:
        """The stored audio, copied to scratch (FFmpeg seeks in it; S3 cannot be seeked)."""
        lecture = Lecture.objects.filter(pk=self.pk).values("status", "audio_storage_key").first()
        if not lecture or lecture["status"] != Lecture.Status.COMPLETED:
            raise TranscriptionError("the lecture's audio is not ready")
        if not lecture["audio_storage_key"]:
            raise TranscriptionError("the lecture has no stored audio")
        try:
            chunks = StoredChunks(lecture["audio_storage_key"])
        except FileNotFoundError:
            raise TranscriptionError("the lecture's stored audio is missing") from None
        except StorageUnavailable:
            raise TranscriptionError("could not read the stored audio; try again later") from None
        except Exception as error:  # a storage backend's own error (botocore, OSError)
            self.logger.warning("transcript=%s reading the audio failed: %s", self.pk, error)
            raise TranscriptionError("could not read the stored audio; try again later") from None
        try:
            with dest.open("wb") as out:
                for part in chunks:
                    out.write(part)
        finally:
            chunks.close()
        return dest

    def _answers_so_far(self, plan: str) -> dict[int, ChunkAnswer]:
        """Answers kept from an earlier attempt with the same plan; others are dropped."""
        with self.holding_claim():
            TranscriptChunk.objects.filter(lecture_id=self.pk).exclude(plan=plan).delete()
            rows = TranscriptChunk.objects.filter(lecture_id=self.pk, plan=plan)
            return {row.index: ChunkAnswer.from_json(row.answer) for row in rows}

    def _send_all(
        self,
        audio: Path,
        todo: list[Chunk],
        answers: dict[int, ChunkAnswer],
        plan: str,
        fmt: SpeechFormat,
        scratch: Path,
    ) -> None:
        stop = threading.Event()
        pending: dict[Future, Chunk] = {}
        self._report(len(answers))
        client = TranscriptionClient(provider_settings(), stop=stop)
        pool = ThreadPoolExecutor(
            max_workers=settings.TRANSCRIPTION_CONCURRENCY,
            thread_name_prefix=f"transcript-{self.pk}",
        )
        finished = False
        try:
            for chunk in todo:
                self._collect(pending, answers, plan, block=False)
                path = self._encode(audio, chunk, fmt, scratch)
                # The sending threads log with the job's context (its retry warnings).
                send = carry_context(self._send)
                pending[pool.submit(send, client, chunk, path, fmt)] = chunk
            while pending:
                self._collect(pending, answers, plan, block=True)
            finished = True
        finally:
            if not finished:
                # The transcript fails (or was taken away) now, not when the requests
                # still in flight end: they are cut off with the client.
                stop.set()
            pool.shutdown(wait=finished, cancel_futures=True)
            client.close()

    def _encode(self, audio: Path, chunk: Chunk, fmt: SpeechFormat, scratch: Path) -> Path:
        max_bytes = settings.TRANSCRIPTION_MAX_UPLOAD_BYTES
        dest = scratch / f"chunk-{chunk.index}.{fmt.extension}"
        rates = bit_rates_for(chunk.duration, max_bytes, fmt)
        for rate in rates:
            if self.lost.is_set():
                raise LostClaim
            if encode_chunk(audio, dest, chunk, fmt=fmt, bit_rate=rate) <= max_bytes:
                return dest
        dest.unlink(missing_ok=True)
        raise TranscriptionError(
            f"chunk {chunk.index + 1} stays over TRANSCRIPTION_MAX_UPLOAD_BYTES "
            f"even at {rates[-1] // 1000} kbit/s"
        )

    @staticmethod
    def _send(
        client: TranscriptionClient, chunk: Chunk, path: Path, fmt: SpeechFormat
    ) -> ChunkAnswer:
        try:
            answer = client.transcribe(
                path, filename=f"chunk-{chunk.index}.{fmt.extension}", content_type=fmt.content_type
            )
            metrics.provider_audio_seconds.labels(client.metrics_name).inc(chunk.duration)
            return parse_answer(answer, chunk.duration)
        finally:
            path.unlink(missing_ok=True)

    def _collect(
        self,
        pending: dict[Future, Chunk],
        answers: dict[int, ChunkAnswer],
        plan: str,
        *,
        block: bool,
    ) -> None:
        """Store the answers that arrived (waiting for one when ``block``); a failed chunk
        fails the job."""
        if self.lost.is_set():
            raise LostClaim
        if not pending:
            return
        done, _ = wait(list(pending), timeout=1.0 if block else 0, return_when=FIRST_COMPLETED)
        for future in done:
            chunk = pending.pop(future)
            try:
                answer = future.result()
            except Stopped:
                raise LostClaim from None
            except ProviderError as error:
                # The URL called shows a wrong TRANSCRIPTION_BASE_URL; the key is never in it.
                called = urlsplit(provider_settings().url)
                raise ProviderError(
                    f"chunk {chunk.index + 1} of {self._total}: {error} "
                    f"(POST {called.scheme}://{called.netloc}{called.path})",
                    transient=error.transient,
                ) from None
            with self.holding_claim():
                TranscriptChunk.objects.update_or_create(
                    lecture_id=self.pk,
                    index=chunk.index,
                    defaults={
                        "plan": plan,
                        "offset_seconds": chunk.start,
                        "duration_seconds": chunk.duration,
                        "answer": answer.to_json(),
                    },
                )
            answers[chunk.index] = answer
            self._report(len(answers))

    def _report(self, answered: int) -> None:
        if self._total:
            self.report_progress(int(answered * 99 / self._total))

    _total = 0
