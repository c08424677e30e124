"""The transcript of a lecture, its segments, and the provider's answer per chunk.

The transcript's state is a row of its own (one per lecture, created when transcription
is first asked for), not more columns on ``Lecture``: the transcript job claims and
writes its own row, so it never races the audio job, the admin or a request that saves
the lecture. No row means ``none``.
"""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models, transaction

from core.fulltext import clean_text, write_vectors
from core.jobs import COMPLETED, FAILED, QUEUED, STARTED, JobStates
from core.models import JobRow


class TranscriptStatus(models.TextChoices):
    NONE = "none"
    QUEUED = "queued"
    TRANSCRIBING = "transcribing"
    COMPLETED = "completed"
    FAILED = "failed"


class TranscriptSource(models.TextChoices):
    PROVIDER = "provider"
    CAPTIONS = "captions"


class Transcript(JobRow):
    """Where a lecture's transcription stands (the transcript job's row, ``jobs.py``); its
    text is in ``TranscriptSegment`` rows."""

    Status = TranscriptStatus
    Source = TranscriptSource
    RUNNING = (Status.TRANSCRIBING,)
    BUSY = (Status.QUEUED, Status.TRANSCRIBING)
    # Each status of the transcript job and what a move to it writes (core.jobs). Logged
    # with the lecture's lines, as ``transcript=<lecture id>``.
    states = JobStates(
        "transcript",
        logger="studybuddy.lectures",
        waiting=[Status.QUEUED],
        running=RUNNING,
        failed=Status.FAILED,
        resets={
            Status.NONE: QUEUED,
            Status.QUEUED: QUEUED,
            Status.TRANSCRIBING: STARTED,
            Status.COMPLETED: COMPLETED,
            Status.FAILED: FAILED,
        },
    )

    lecture = models.OneToOneField(
        "lectures.Lecture", primary_key=True, on_delete=models.CASCADE, related_name="transcript"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NONE)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.PROVIDER)
    model = models.CharField(max_length=100, blank=True, help_text="The provider's model.")
    language = models.CharField(max_length=32, blank=True)
    segment_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="transcript_progress_at_most_100"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=TranscriptStatus.values),
                name="transcript_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="transcript_status_hb")]

    def __str__(self) -> str:
        return f"transcript of {self.lecture_id} ({self.status})"


class TranscriptSegment(models.Model):
    """One stretch of speech on the lecture's timeline (seconds from the audio's start)."""

    lecture = models.ForeignKey(
        "lectures.Lecture", on_delete=models.CASCADE, related_name="transcript_segments"
    )
    index = models.PositiveIntegerField(help_text="From 0, in time order.")
    start = models.FloatField()
    end = models.FloatField()
    text = models.TextField()
    # Written from the text as the rows are inserted (``insert``); searched by ``search/``.
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ["lecture", "index"]
        indexes = [GinIndex(fields=["search_vector"], name="transcript_segment_search")]
        constraints = [
            models.UniqueConstraint(fields=["lecture", "index"], name="unique_transcript_segment"),
            models.CheckConstraint(
                condition=models.Q(start__gte=0) & models.Q(end__gte=models.F("start")),
                name="transcript_segment_times_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.start:.2f}-{self.end:.2f} {self.text[:40]}"

    @classmethod
    def of(
        cls, *, lecture_id, index: int, start: float, end: float, text: str
    ) -> TranscriptSegment:
        """A segment row whose text is cleaned for storage; ``insert`` stores it."""
        return cls(lecture_id=lecture_id, index=index, start=start, end=end, text=clean_text(text))

    @classmethod
    def insert(cls, rows: list[TranscriptSegment]) -> None:
        """Insert ``rows`` (their lectures' others deleted first), then their search vectors
        from the text stored (``core.fulltext.write_vectors``), in one transaction: no row
        is ever seen without its vector."""
        with transaction.atomic():
            cls.objects.bulk_create(rows, batch_size=2000)
            write_vectors(cls.objects.filter(lecture_id__in={row.lecture_id for row in rows}))


class TranscriptChunk(models.Model):
    """The provider's answer for one chunk of the audio, kept until the transcript is
    complete so that a retry (or a worker taking over) sends only the chunks not done.

    ``plan`` names how the audio was cut (chunk length, overlap, model, language): an
    answer for another cut does not fit the merge and is sent again.
    """

    lecture = models.ForeignKey(
        "lectures.Lecture", on_delete=models.CASCADE, related_name="transcript_chunks"
    )
    index = models.PositiveIntegerField()
    plan = models.CharField(max_length=200)
    offset_seconds = models.FloatField()
    duration_seconds = models.FloatField()
    answer = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["lecture", "index"]
        constraints = [
            models.UniqueConstraint(fields=["lecture", "index"], name="unique_transcript_chunk"),
        ]

    def __str__(self) -> str:
        return f"chunk {self.index} of {self.lecture_id}"
