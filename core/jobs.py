"""One mechanism for every background job that works on a database row.

A job runs for minutes (a download, a transcription) in a django-q2 worker. The broker may
deliver its task twice, and a worker may die mid-job (SIGKILL, a deploy, the OOM killer).
Holding a transaction open for the length of the job would survive neither, so the job
*claims* its row instead:

- **claim**: under ``select_for_update`` the row moves from a waiting status (``queued``)
  to the job's first running status, with a fresh claim token, a heartbeat and one more
  attempt. A row already running with a fresh heartbeat is left alone (a duplicate
  delivery); one whose heartbeat went stale belonged to a worker that died and is taken
  over. A row whose attempts are used up ends failed instead, so a recording that kills
  its worker every time does not loop for ever.
- **lost claim**: every later write filters on the token. When no row matches, the row was
  deleted or taken over: the job stops (``LostClaim``) and writes nothing, results included.
- **heartbeat**: a thread refreshes the heartbeat while the job's own thread is busy for
  long stretches (a download, an FFmpeg run).
- **failure**: an expected failure (a bad source, a full disk) ends the row failed with a
  short message for people, no traceback; anything else is logged with its traceback,
  ends the row failed with a generic message and is raised again, so the task shows the bug.
- **scratch**: each run works in a temporary directory of its own, removed afterwards; a
  claim removes what a worker that died left behind.
- **memory**: after each run, the heap pages the job freed go back to the system, so a
  worker starts every job from the same footprint, whatever the last one needed.

A new kind of job subclasses ``Job``: it names its model, statuses and fields, says how a
status change is written and logged (the app's state module), and implements ``work``;
``run(pk)`` does the rest. ``lectures/pipeline.py`` is the example. In outline::

    class TextJob(Job):
        model = Document
        name = "document"
        waiting, running, first_step, failed = ("pending",), ("extracting",), "extracting", "failed"
        status_field, error_field = "text_status", "text_error"  # and the claim's own fields
        stale_setting = "DOCUMENT_TEXT_STALE_SECONDS"  # and heartbeat_, attempts_setting

        def changes(self, to, **fields):  # the app's state module: what a status implies
            return state.text_changes(to, **fields)

        def log(self, old, new, **details):
            state.log_text_transition(self.pk, old, new, **details)

        def work(self, scratch):
            pages = extract(self.row.file, scratch)  # may call self.report_progress(…)
            self.move("completed", {"page_count": len(pages)})

    def extract_document_text(document_id):  # the django-q2 task
        if TextJob.run(document_id) == Outcome.FAILED:
            raise JobFailed(f"document {document_id} failed (see its error message)")
"""

from __future__ import annotations

import ctypes
import json
import logging
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

from django.conf import settings
from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    models,
    transaction,
)
from django.utils import timezone


def log_status_change(
    logger: logging.Logger, subject: str, old: str | None, new: str, **fields: object
) -> None:
    """The one line a status change logs: ``<subject> from=<old> to=<new> key=value …``
    (``subject`` is e.g. ``lecture=<id>``). ``None`` fields are left out; a value with a
    space, a quote or ``=`` is JSON-quoted, so no value can forge a field or a line."""
    details = "".join(
        f" {key}={_log_value(value)}" for key, value in fields.items() if value is not None
    )
    logger.info("%s from=%s to=%s%s", subject, old or "-", new, details)


def _log_value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    text = str(value)
    return json.dumps(text) if (not text or any(c.isspace() or c in '"=' for c in text)) else text


class Outcome(StrEnum):
    """What ``Job.run`` did; the task's result."""

    COMPLETED = "completed"
    FAILED = "failed"  # ended failed, the reason stored on the row
    SKIPPED = "skipped"  # nothing to do: done, failed, deleted, or running elsewhere
    ABANDONED = "abandoned"  # the claim was lost mid-job


class LostClaim(Exception):
    """The row was deleted or taken over by another worker while this job ran."""


class JobFailed(Exception):
    """Raised by a task whose job ended failed for an expected reason (``Outcome.FAILED``).

    django-q2 records a task as failed only when it raises, and then stores and logs the
    traceback; for an expected failure that traceback is noise (the reason is on the row),
    so ``keep_message_of_expected_failures`` keeps only the message (one line).
    """


class Job:
    """One run of a kind of job on one claimed row. Subclass it per kind of job.

    A subclass sets the class attributes below and implements ``work``, ``changes`` and
    ``log``; it may override ``failure_reason`` and ``discard``.
    """

    model: ClassVar[type[models.Model]]
    name: ClassVar[str]  # in log lines (``lecture=…``) and scratch directory names
    waiting: ClassVar[Collection[str]]  # statuses a job starts from
    running: ClassVar[Collection[str]]  # statuses of a claimed row
    first_step: ClassVar[str]  # the running status a claim moves to
    failed: ClassVar[str]
    # The row's fields: a model with two jobs gives each its own.
    status_field: ClassVar[str] = "status"
    token_field: ClassVar[str] = "claim_token"  # noqa: S105 (a field name)
    heartbeat_field: ClassVar[str] = "heartbeat_at"
    attempts_field: ClassVar[str] = "attempt_count"
    error_field: ClassVar[str] = "error_message"
    progress_field: ClassVar[str] = "progress"
    error_max_length: ClassVar[int] = 500
    # Stored for an unexpected error: its details are for the log, not for the user.
    crash_message: ClassVar[str] = "internal error"
    logger: ClassVar[logging.Logger] = logging.getLogger(__name__)
    # The limits, named by the settings that hold them and read when used (so a deployment
    # or a test may change them): how old a running row's heartbeat may get before the row
    # may be taken over, how often the heartbeat is written, how many runs may start since
    # the row was last queued, and where scratch directories go (unset: the system's).
    stale_setting: ClassVar[str]
    heartbeat_setting: ClassVar[str]
    attempts_setting: ClassVar[str]
    scratch_setting: ClassVar[str | None] = None

    @property
    def stale_seconds(self) -> float:
        return getattr(settings, self.stale_setting)

    @property
    def heartbeat_seconds(self) -> float:
        return getattr(settings, self.heartbeat_setting)

    @property
    def max_attempts(self) -> int:
        return getattr(settings, self.attempts_setting)

    # --- What a subclass provides -------------------------------------------------------

    def work(self, scratch: Path) -> None:
        """The job's steps, ending with a ``move`` to its final status."""
        raise NotImplementedError

    def changes(self, to: str, **fields: object) -> dict[str, Any]:
        """The fields a move to status ``to`` writes (the status, what it resets, and
        ``fields``): the app's state module, so that jobs and services agree."""
        raise NotImplementedError

    def log(self, old: str | None, new: str, **details: object) -> None:
        """The app's log line of a status change of this row."""
        raise NotImplementedError

    def failure_reason(self, error: Exception) -> str | None:
        """The short, human-readable reason of an expected failure; ``None`` for a bug."""
        return None

    def discard(self) -> None:
        """Remove partial results after a failure or a lost claim."""

    @classmethod
    def scratch_root(cls) -> str | None:
        """Where scratch directories go (``None``: the system's temporary directory)."""
        return getattr(settings, cls.scratch_setting) if cls.scratch_setting else None

    # --- Running ------------------------------------------------------------------------

    @classmethod
    def run(cls, pk: object) -> Outcome:
        """Claim the row and run the job on it. Returns what happened; raises only for the
        unexpected, after marking the row failed."""
        job = cls.claim(pk)
        if job is None:
            return Outcome.SKIPPED
        try:
            with _freed_memory_returned(), job._scratch() as scratch, _Heartbeat(job):
                job.work(scratch)
            return Outcome.COMPLETED
        except LostClaim:
            job.discard()
            cls.logger.info("%s=%s job stopped: claim lost", cls.name, job.pk)
            return Outcome.ABANDONED
        except Exception as error:
            job.discard()
            reason = job.failure_reason(error)
            if reason is None:
                cls.logger.exception("%s=%s job crashed", cls.name, job.pk)
                job.fail(cls.crash_message)
                raise
            job.fail(reason)
            return Outcome.FAILED

    def __init__(self, row: models.Model) -> None:
        self.row = row
        self.pk = row.pk
        self.status: str = getattr(row, self.status_field)
        self.token: uuid.UUID | None = getattr(row, self.token_field)
        self.lost = threading.Event()
        self._progress = 0
        self._started = self._written_at = time.monotonic()

    # --- Claiming -----------------------------------------------------------------------

    @classmethod
    def claim(cls, pk: object) -> Job | None:
        """Take the row for a new run, or ``None`` when there is nothing to do."""
        with transaction.atomic():
            row = cls.model.objects.select_for_update().filter(pk=pk).first()
            if row is None:
                return None
            job = cls(row)
            if job.status in cls.running and job._is_stale():
                cls.logger.warning("%s=%s taking over from a worker that stopped", cls.name, pk)
            elif job.status not in cls.waiting:
                # Completed, failed, or being worked on right now: a duplicate delivery.
                return None
            attempts = getattr(row, cls.attempts_field)
            if attempts >= job.max_attempts:
                message = f"processing stopped {attempts} times without finishing"
                job._move_locked(
                    cls.failed, {cls.error_field: message}, attempts=attempts, error=message
                )
                return None
            job.token = uuid.uuid4()
            job._move_locked(
                cls.first_step,
                {
                    cls.attempts_field: attempts + 1,
                    cls.token_field: job.token,
                    cls.heartbeat_field: timezone.now(),
                },
                attempt=attempts + 1,
            )
        job._remove_leftover_scratch()
        return job

    def _is_stale(self) -> bool:
        beat = getattr(self.row, self.heartbeat_field)
        return beat is None or beat < timezone.now() - timedelta(seconds=self.stale_seconds)

    def _move_locked(self, to: str, fields: Mapping[str, object], **details: object) -> None:
        written = self.changes(to, **fields)
        for name, value in written.items():
            setattr(self.row, name, value)
        # Only this job's fields: another job may own other fields of the same row.
        self.row.save(update_fields=[*written, *_auto_now_fields(self.model)])
        self.log(self.status, to, **details)
        self.status = to

    # --- Writing under the claim --------------------------------------------------------

    def update(self, **fields: object) -> None:
        """Write ``fields`` to the row if this job still holds its claim; ``LostClaim`` if not."""
        if self.lost.is_set():
            raise LostClaim
        fields = {**fields, **_auto_now_fields(self.model)}
        mine = self.model.objects.filter(pk=self.pk, **{self.token_field: self.token})
        try:
            updated = mine.update(**fields)
        except (OperationalError, InterfaceError):
            if connection.in_atomic_block:
                raise
            # The database dropped the connection (a restart, a failover): a job that has
            # worked for an hour should not fail for that. One fresh connection, then an
            # error if the database is really gone.
            self.logger.warning("%s=%s database connection lost; reconnecting", self.name, self.pk)
            connection.close()
            updated = mine.update(**fields)
        if not updated:
            self.lost.set()
            raise LostClaim

    def move(self, to: str, fields: Mapping[str, object] | None = None, **details: object) -> None:
        """Move the row to status ``to`` (with what that implies, and ``fields``) and log it
        with the run's seconds and ``details``."""
        fields = dict(fields or {})
        if to in self.running:
            fields[self.heartbeat_field] = timezone.now()
        self.update(**self.changes(to, **fields))
        self.log(self.status, to, seconds=self.elapsed(), **details)
        self.status = to
        self._progress = fields.get(self.progress_field, self._progress)

    def report_progress(self, percent: int) -> None:
        """Throttled: at most one write a second, and only when the percentage moved. 100
        is never written here: only the move to the final status, with the result, does."""
        if self.lost.is_set():
            raise LostClaim
        percent = min(99, percent)
        now = time.monotonic()
        if percent > self._progress and now - self._written_at >= 1.0:
            self.update(**{self.progress_field: percent, self.heartbeat_field: timezone.now()})
            self._progress = percent
            self._written_at = now

    @contextmanager
    def holding_claim(self) -> Iterator[None]:
        """Run the block in a transaction holding the claimed row's lock, for a step that
        must not interleave with another job's (store a file and point the row at it):
        a job that lost its claim can neither write over this one nor remove its file
        between the two steps."""
        with transaction.atomic():
            mine = (
                self.model.objects.select_for_update()
                .filter(pk=self.pk, **{self.token_field: self.token})
                .values_list("pk", flat=True)
                .first()
            )
            if mine is None:
                self.lost.set()
                raise LostClaim
            yield

    def fail(self, message: str) -> None:
        """End the row failed with ``message``, unless the claim is lost (then the row is
        someone else's, or gone)."""
        with suppress(LostClaim):
            self.move(
                self.failed, {self.error_field: message[: self.error_max_length]}, error=message
            )

    def heartbeat(self) -> None:
        self.update(**{self.heartbeat_field: timezone.now()})

    def elapsed(self) -> float:
        return time.monotonic() - self._started

    # --- Scratch ------------------------------------------------------------------------

    @classmethod
    def _scratch_prefix(cls, pk: object) -> str:
        return f"studybuddy-{cls.name}-{pk}-"

    @contextmanager
    def _scratch(self) -> Iterator[Path]:
        path = Path(tempfile.mkdtemp(prefix=self._scratch_prefix(self.pk), dir=self.scratch_root()))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def _remove_leftover_scratch(self) -> None:
        """Scratch directories that a worker killed mid-run left for this row."""
        root = Path(self.scratch_root() or tempfile.gettempdir())
        for leftover in root.glob(f"{self._scratch_prefix(self.pk)}*"):
            shutil.rmtree(leftover, ignore_errors=True)


def _libc_malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim  # glibc's; musl and macOS have none
    except (OSError, AttributeError, TypeError):  # TypeError: Windows has no CDLL(None)
        return None


_malloc_trim = _libc_malloc_trim()


@contextmanager
def _freed_memory_returned() -> Iterator[None]:
    """After a job, hand the heap pages it freed back to the system. A worker process runs
    job after job, and glibc's allocator keeps freed pages in its heaps (all but the top of
    each) for later allocations: a long lecture's buffers and FFmpeg's indexes would stay in
    the worker's memory until it exits, and the next job would start from wherever the
    last one left the heaps. ``malloc_trim`` takes a few milliseconds."""
    try:
        yield
    finally:
        if _malloc_trim is not None:
            _malloc_trim(0)


def _auto_now_fields(model: type[models.Model]) -> dict[str, object]:
    """``auto_now`` fields, which ``QuerySet.update`` does not touch by itself."""
    now = timezone.now()
    return {
        field.name: now
        for field in model._meta.concrete_fields
        if getattr(field, "auto_now", False)
    }


class _Heartbeat:
    """Refreshes the claim's heartbeat from a thread while the job works."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job.pk}", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        job = self.job
        try:
            while not self._stop.wait(job.heartbeat_seconds):
                close_old_connections()
                try:
                    job.heartbeat()
                except LostClaim:
                    return
                except Exception:  # a database blip: the next beat tries again
                    job.logger.warning("%s=%s heartbeat failed", job.name, job.pk, exc_info=True)
        finally:
            connection.close()


# --- django-q2 ----------------------------------------------------------------------------

_JOB_FAILED = f"{JobFailed.__module__}.{JobFailed.__qualname__}: "


def keep_message_of_expected_failures(sender: object, task: dict, **kwargs: object) -> None:
    """``post_execute_in_worker`` receiver: a task that raised ``JobFailed`` keeps only its
    message as result, so the task is stored failed and logged in one line, without the
    traceback django-q2 adds to every failure.

    django-q2 stores a raising task's result as ``"{error} : {traceback}"``, and the last
    line of a traceback names the exception's class and repeats its message.
    """
    if task.get("success") or not isinstance(task.get("result"), str):
        return
    last_line = task["result"].rstrip("\n").rpartition("\n")[2]
    if last_line.startswith(_JOB_FAILED):
        task["result"] = last_line.removeprefix(_JOB_FAILED)
