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
- **memory** is django-q2's: a worker process whose peak passed ``Q_MAX_RSS_BYTES`` is
  replaced after its job, so one long recording's buffers do not stay for the next.

Every job's row is a ``core.models.JobRow`` (status, progress, error, attempts, claim) whose
model declares ``states``: a ``JobStates`` table of its statuses and what a move to each
writes. The job, the app's services and its commands all move rows by that table
(``Job.move`` under a claim, ``move`` under a row lock), so they agree, and every change
logs one line (``lecture=<id> from=… to=… key=value``).

A new kind of job subclasses ``Job``: it names its model and the settings prefix of its
limits, and implements ``work``; ``run(pk)`` does the rest. ``documents/jobs.py`` is a
short example. In outline::

    class DocumentText(JobRow):  # documents/models.py
        document = models.OneToOneField(Document, primary_key=True, ...)
        status = models.CharField(max_length=16, choices=TextStatus.choices, default=...)
        page_count = models.PositiveIntegerField(null=True, blank=True)

        states = JobStates(
            "document",
            subject="document={pk} text",
            waiting=[TextStatus.PENDING],
            running=[TextStatus.EXTRACTING],  # a claim moves to the first
            failed=TextStatus.FAILED,
            resets={
                TextStatus.PENDING: {**QUEUED, "page_count": None},
                TextStatus.EXTRACTING: {**STARTED, "page_count": None},
                TextStatus.COMPLETED: COMPLETED,
                TextStatus.FAILED: {**FAILED, "page_count": None},
            },
        )

    class TextJob(Job):  # documents/jobs.py
        model = DocumentText
        settings_prefix = "DOCUMENT_TEXT"  # _STALE_SECONDS, _HEARTBEAT_SECONDS, _MAX_ATTEMPTS

        def work(self, scratch):
            pages = extract(self.pk, scratch)  # may call self.report_progress(…)
            self.move(TextStatus.COMPLETED, {"page_count": len(pages)}, pages=len(pages))

    def extract_document_text(document_id):  # the django-q2 task (documents/tasks.py)
        return task_result(TextJob.run(document_id), f"document {document_id} failed")
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

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
from django.utils.functional import classproperty

from core import metrics
from core.logging import carry_context, field_value, log_context

if TYPE_CHECKING:
    from core.models import JobRow


def log_status_change(
    logger: logging.Logger, subject: str, old: str | None, new: str, **fields: object
) -> None:
    """The one line a status change logs: ``<subject> from=<old> to=<new> key=value …``
    (``subject`` is e.g. ``lecture=<id>``). ``None`` fields are left out; a value with a
    space, a quote or ``=`` is JSON-quoted, so no value can forge a field or a line."""
    details = "".join(
        f" {key}={field_value(value)}" for key, value in fields.items() if value is not None
    )
    logger.info("%s from=%s to=%s%s", subject, old or "-", new, details)


# What a move writes besides the status, by what the status means to a job; a model's
# ``JobStates.resets`` is made of these and of its own results. A callable is called at
# the move (the completion time). Read-only: every model's table shares them.
UNCLAIMED: Mapping[str, Any] = MappingProxyType({"claim_token": None, "heartbeat_at": None})
# Waiting for a worker, as new: no progress, no error, no result time, no claim.
QUEUED: Mapping[str, Any] = MappingProxyType(
    {"progress": 0, "error_message": "", "completed_at": None, **UNCLAIMED}
)
# A claim's first step (the claim writes its own token, heartbeat and attempt).
STARTED: Mapping[str, Any] = MappingProxyType({"progress": 0, "error_message": ""})
COMPLETED: Mapping[str, Any] = MappingProxyType(
    {"progress": 100, "error_message": "", "completed_at": timezone.now, **UNCLAIMED}
)
# The error message is written by whoever fails the row; the progress shows where it stopped.
FAILED: Mapping[str, Any] = UNCLAIMED


@dataclass(frozen=True)
class JobStates:
    """A kind of job's statuses and what a move to each writes besides the status: the one
    table its job, services and commands move its rows by. Declared on the job's model as
    ``states`` (``core.models.JobRow``)."""

    name: str  # in log lines (``lecture=<id>``) and scratch directory names
    resets: Mapping[str, Mapping[str, Any]]  # every status: the fields a move to it writes
    waiting: Sequence[str]  # statuses a job starts from
    running: Sequence[str]  # statuses of a claimed row; a claim moves to the first
    failed: str
    logger: str = "studybuddy"
    subject: str = "{name}={pk}"  # what a log line is about
    # The ``kind`` label of its metrics (``core.metrics``), ``name`` when unset.
    metrics_kind: str = ""

    def __post_init__(self) -> None:
        unknown = {*self.waiting, *self.running, self.failed} - set(self.resets)
        if unknown:
            raise ValueError(f"{self.name}: statuses without resets: {sorted(unknown)}")

    @property
    def kind(self) -> str:
        """What operators call this kind of job (``audio``, ``transcript``, ``text``…)."""
        return self.metrics_kind or self.name

    def changes(self, to: str, **fields: object) -> dict[str, Any]:
        """The fields a move to ``to`` writes: the status, what it resets, then ``fields``."""
        resets = {
            name: value() if callable(value) else value for name, value in self.resets[to].items()
        }
        return {"status": to, **resets, **fields}

    def log(self, pk: object, old: str | None, new: str, **details: object) -> None:
        """The one line of a status change of row ``pk``, with whatever tells the story
        (seconds, bytes, attempt, error); ``None`` details are left out."""
        subject = self.subject.format(name=self.name, pk=pk)
        log_status_change(logging.getLogger(self.logger), subject, old, new, **details)


def move(
    row: JobRow, to: str, fields: Mapping[str, object] | None = None, **details: object
) -> None:
    """Move a row the caller holds locked (``select_for_update``), or a new one, to status
    ``to``: write what the status resets and ``fields``, save, and log the change with
    ``details``. A job's own moves go through ``Job.move``, under its claim."""
    states = row.states
    previous = None if row._state.adding else row.status
    for name, value in states.changes(to, **(fields or {})).items():
        setattr(row, name, value)
    row.save()
    states.log(row.pk, previous, to, **details)


class Outcome(StrEnum):
    """What ``Job.run`` did; the task's result."""

    COMPLETED = "completed"
    FAILED = "failed"  # ended failed, the reason stored on the row
    SKIPPED = "skipped"  # nothing to do: done, failed, deleted, or running elsewhere
    ABANDONED = "abandoned"  # the claim was lost mid-job


class LostClaim(Exception):
    """The row was deleted or taken over by another worker while this job ran."""


class AttemptsExhausted(Exception):
    """The row was claimed by as many runs as a job may take, and is now failed."""


class JobFailed(Exception):
    """Raised by a task whose job ended failed for an expected reason (``Outcome.FAILED``).

    django-q2 records a task as failed only when it raises, and then stores and logs the
    traceback; for an expected failure that traceback is noise (the reason is on the row),
    so ``keep_message_of_expected_failures`` keeps only the message (one line).
    """


def task_result(outcome: Outcome, failure: str) -> str:
    """A django-q2 task's result for its job's ``outcome``; ``JobFailed(failure)`` for a
    failure, so that the task shows failed in the admin's task pages (the row has the
    reason)."""
    if outcome == Outcome.FAILED:
        raise JobFailed(failure)
    return outcome.value


class Job:
    """One run of a kind of job on one claimed row. Subclass it per kind of job.

    A subclass names its ``model`` (a ``JobRow`` with its ``states``) and the
    ``settings_prefix`` of its limits, and implements ``work``; it may override
    ``failure_reason`` and ``discard``.
    """

    model: ClassVar[type[JobRow]]
    # The limits, read from settings when used (so a deployment or a test may change them):
    # ``{prefix}_STALE_SECONDS``, how old a running row's heartbeat may get before the row
    # may be taken over; ``{prefix}_HEARTBEAT_SECONDS``, how often the heartbeat is
    # written; ``{prefix}_MAX_ATTEMPTS``, how many runs may start since the row was queued.
    settings_prefix: ClassVar[str]
    # Where scratch directories go (the setting unset: the system's temporary directory).
    scratch_setting: ClassVar[str] = "DOWNLOAD_TEMP_DIR"
    error_max_length: ClassVar[int] = 500
    # Stored for an unexpected error: its details are for the log, not for the user.
    crash_message: ClassVar[str] = "internal error"

    @classproperty
    def states(cls) -> JobStates:
        return cls.model.states

    @classproperty
    def name(cls) -> str:
        return cls.model.states.name

    @classproperty
    def logger(cls) -> logging.Logger:
        return logging.getLogger(cls.model.states.logger)

    @property
    def stale_seconds(self) -> float:
        return getattr(settings, f"{self.settings_prefix}_STALE_SECONDS")

    @property
    def heartbeat_seconds(self) -> float:
        return getattr(settings, f"{self.settings_prefix}_HEARTBEAT_SECONDS")

    @property
    def max_attempts(self) -> int:
        return getattr(settings, f"{self.settings_prefix}_MAX_ATTEMPTS")

    # --- What a subclass provides -------------------------------------------------------

    def work(self, scratch: Path) -> None:
        """The job's steps, ending with a ``move`` to its final status."""
        raise NotImplementedError

    def failure_reason(self, error: Exception) -> str | None:
        """The short, human-readable reason of an expected failure; ``None`` for a bug."""
        return None

    def discard(self) -> None:
        """Remove partial results after a failure or a lost claim."""

    @classmethod
    def scratch_root(cls) -> str | None:
        """Where scratch directories go (``None``: the system's temporary directory)."""
        return getattr(settings, cls.scratch_setting, None)

    # --- Running ------------------------------------------------------------------------

    @classmethod
    def run(cls, pk: object) -> Outcome:
        """Claim the row and run the job on it. Returns what happened; raises only for the
        unexpected, after marking the row failed. Every line logged meanwhile, by the job
        and by the threads it starts with ``carry_context``, carries ``job=<name>:<pk>``."""
        started = time.monotonic()
        outcome = "crashed"  # an unexpected error, raised again
        with log_context(job=f"{cls.name}:{pk}"):
            try:
                outcome = cls._run(pk)
                return outcome
            finally:
                metrics.job_finished(cls.states.kind, outcome, time.monotonic() - started)

    @classmethod
    def _run(cls, pk: object) -> Outcome:
        try:
            job = cls.claim(pk)
        except AttemptsExhausted:
            return Outcome.FAILED
        if job is None:
            return Outcome.SKIPPED
        try:
            with job._scratch() as scratch, _Heartbeat(job):
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
        self.status: str = row.status
        self.token: uuid.UUID | None = row.claim_token
        self.lost = threading.Event()
        self._progress = 0
        self._started = self._written_at = time.monotonic()

    # --- Claiming -----------------------------------------------------------------------

    @classmethod
    def claim(cls, pk: object) -> Job | None:
        """Take the row for a new run, or ``None`` when there is nothing to do; a row whose
        attempts are used up is marked failed instead (``AttemptsExhausted``)."""
        with transaction.atomic():
            row = cls.model.objects.select_for_update().filter(pk=pk).first()
            if row is None:
                return None
            job = cls(row)
            if job.status in cls.states.running and job._is_stale():
                cls.logger.warning("%s=%s taking over from a worker that stopped", cls.name, pk)
            elif job.status not in cls.states.waiting:
                # Completed, failed, or being worked on right now: a duplicate delivery.
                return None
            attempts = row.attempt_count
            exhausted = attempts >= job.max_attempts
            if exhausted:
                message = f"processing stopped {attempts} times without finishing"
                job._move_locked(
                    cls.states.failed, {"error_message": message}, attempts=attempts, error=message
                )
            else:
                job.token = uuid.uuid4()
                job._move_locked(
                    cls.states.running[0],
                    {
                        "attempt_count": attempts + 1,
                        "claim_token": job.token,
                        "heartbeat_at": timezone.now(),
                    },
                    attempt=attempts + 1,
                )
        if exhausted:
            # Raised once the failure is committed: this run's outcome is a failure.
            raise AttemptsExhausted(message)
        job._remove_leftover_scratch()
        return job

    def _is_stale(self) -> bool:
        beat = self.row.heartbeat_at
        return beat is None or beat < timezone.now() - timedelta(seconds=self.stale_seconds)

    def _move_locked(self, to: str, fields: Mapping[str, object], **details: object) -> None:
        written = self.states.changes(to, **fields)
        for name, value in written.items():
            setattr(self.row, name, value)
        # Only the job's fields: a request may be writing others of the same row (a title).
        self.row.save(update_fields=[*written, *_auto_now_fields(self.model)])
        self.states.log(self.pk, self.status, to, **details)
        self.status = to

    # --- Writing under the claim --------------------------------------------------------

    def update(self, **fields: object) -> None:
        """Write ``fields`` to the row if this job still holds its claim; ``LostClaim`` if not."""
        if self.lost.is_set():
            raise LostClaim
        fields = {**fields, **_auto_now_fields(self.model)}
        mine = self.model.objects.filter(pk=self.pk, claim_token=self.token)
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
        if to in self.states.running:
            fields["heartbeat_at"] = timezone.now()
        self.update(**self.states.changes(to, **fields))
        self.states.log(self.pk, self.status, to, seconds=self.elapsed(), **details)
        self.status = to
        self._progress = fields.get("progress", self._progress)

    def report_progress(self, percent: int) -> None:
        """Throttled: at most one write a second, and only when the percentage moved. 100
        is never written here: only the move to the final status, with the result, does."""
        if self.lost.is_set():
            raise LostClaim
        percent = min(99, percent)
        now = time.monotonic()
        if percent > self._progress and now - self._written_at >= 1.0:
            self.update(progress=percent, heartbeat_at=timezone.now())
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
                .filter(pk=self.pk, claim_token=self.token)
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
                self.states.failed,
                {"error_message": message[: self.error_max_length]},
                error=message,
            )

    def heartbeat(self) -> None:
        self.update(heartbeat_at=timezone.now())

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


def requeue_stale_rows(
    model: type[JobRow],
    *,
    stale_before: datetime,
    queued_before: datetime,
    enqueue: Callable[[str], object],
) -> int:
    """A scheduled reaper's work on one kind of job: queue again the rows whose worker went
    silent before ``stale_before`` (the attempt count goes on, so a row that kills its
    worker every time still ends failed at its next claim) and those waiting since before
    ``queued_before`` (their task was lost). ``enqueue(pk)`` runs after the row's
    transaction commits. The model needs an ``auto_now`` ``updated_at``. Returns how many
    rows were queued."""
    states = model.states
    stale = model.objects.filter(status__in=states.running).filter(
        models.Q(heartbeat_at__lt=stale_before)
        | models.Q(heartbeat_at__isnull=True, updated_at__lt=stale_before)
    )
    lost = model.objects.filter(status__in=states.waiting, updated_at__lt=queued_before)
    queued = 0
    for pk in [*stale.values_list("pk", flat=True), *lost.values_list("pk", flat=True)]:
        with transaction.atomic():
            row = model.objects.select_for_update().filter(pk=pk).first()
            if row is None:
                continue
            beat = row.heartbeat_at or row.updated_at
            if row.status in states.running and beat < stale_before:
                move(row, states.waiting[0], reason="stale")
            elif row.status in states.waiting and row.updated_at < queued_before:
                row.save(update_fields=["updated_at"])  # the clock restarts
                states.log(pk, row.status, row.status, reason="job lost")
            else:
                continue  # it moved on meanwhile
            transaction.on_commit(partial(enqueue, str(pk)))
            queued += 1
    return queued


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
        self._thread = threading.Thread(
            target=carry_context(self._run), name=f"heartbeat-{job.pk}", daemon=True
        )

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
