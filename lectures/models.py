import uuid

from django.conf import settings
from django.db import models

from core.jobs import COMPLETED, FAILED, QUEUED, STARTED, JobStates
from core.models import JobRow
from core.storage import StoredFile
from courses.models import Course

# The transcript fields of lecture bodies. The transcripts app owns the transcript (a row
# of its own, ``lecture.transcript``) and these statuses; a lecture without one reads
# "none". A test checks that the two lists agree.
TRANSCRIPT_STATUSES = ("none", "queued", "transcribing", "completed", "failed")
TRANSCRIPT_STATUS_CHOICES = [(status, status.capitalize()) for status in TRANSCRIPT_STATUSES]


def audio_storage_key(lecture_id: uuid.UUID | str) -> str:
    return f"{settings.AUDIO_STORAGE_PREFIX}/{lecture_id}.m4a"


def upload_staging_key() -> str:
    """A fresh key for an uploaded recording waiting for its job (stored before its row)."""
    return f"{settings.LECTURE_UPLOAD_STORAGE_PREFIX}/{uuid.uuid4()}"


class LectureStatus(models.TextChoices):
    QUEUED = "queued"
    DOWNLOADING = "downloading"
    EXTRACTING = "extracting"
    COMPLETED = "completed"
    FAILED = "failed"


class LectureSource(models.TextChoices):
    URL = "url", "Stream URL"
    UPLOAD = "upload", "Uploaded recording"


class Lecture(JobRow):
    """A Panopto recording of a course, downloaded once and kept as audio.

    Students of the same course who add the same Panopto session share one lecture: each
    is linked to it through a ``LectureLink``. The recording comes from its stream URL, or
    from a file a student uploaded (staged in storage until the job has read it); an
    upload may come without a Panopto link, and then shares nothing. The row is the audio
    job's (``lectures/jobs.py``): its status, progress, error and claim.
    """

    Status = LectureStatus
    Source = LectureSource
    RUNNING = (Status.DOWNLOADING, Status.EXTRACTING)
    # Each status of the audio job and what a move to it writes (core.jobs).
    states = JobStates(
        "lecture",
        metrics_kind="audio",
        logger="studybuddy.lectures",
        waiting=[Status.QUEUED],
        running=RUNNING,
        failed=Status.FAILED,
        resets={
            Status.QUEUED: QUEUED,
            Status.DOWNLOADING: STARTED,
            Status.EXTRACTING: {},
            Status.COMPLETED: COMPLETED,
            Status.FAILED: FAILED,
        },
    )

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="lectures")
    panopto_session_id = models.CharField("Panopto session id", max_length=36, blank=True)
    panopto_url = models.URLField("Panopto URL", max_length=2048, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.URL)
    # Signed stream URLs carry credentials in their query string: never shown in the API.
    stream_url = models.TextField(blank=True)
    # An uploaded recording waiting in storage for the job; cleared once the job has ended.
    upload_storage_key = models.CharField(max_length=255, blank=True)
    title = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    duration_seconds = models.FloatField(null=True, blank=True)
    audio_size_bytes = models.BigIntegerField(null=True, blank=True)
    audio_storage_key = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    linked_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="LectureLink", related_name="lectures"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["course", "panopto_session_id"],
                condition=~models.Q(panopto_session_id=""),
                name="unique_lecture_per_course_session",
            ),
            models.CheckConstraint(
                condition=models.Q(source=LectureSource.UPLOAD) | ~models.Q(stream_url=""),
                name="lecture_url_source_has_stream_url",
            ),
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="lecture_progress_at_most_100"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=LectureStatus.values),
                name="lecture_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="lecture_status_hb")]

    def __str__(self) -> str:
        # The API and search give a lecture no one titled as "" (``title`` is what its users
        # gave); where a name must show (the admin), it reads as just that.
        return self.title or "Untitled lecture"

    def audio_file(self) -> StoredFile:
        """The extracted audio, as the API and the admin serve it."""
        version = int((self.completed_at or self.updated_at).timestamp())
        return StoredFile(
            key=self.audio_storage_key,
            size=self.audio_size_bytes or 0,
            etag=f'"{self.id.hex}-{version}"',
            filename=f"{self.title or self.panopto_session_id or 'lecture'}.m4a",
            content_type="audio/mp4",
        )


class LectureLink(models.Model):
    """A lecture on a student's list."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lecture_links"
    )
    lecture = models.ForeignKey(Lecture, on_delete=models.CASCADE, related_name="links")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "lecture"], name="unique_lecture_link"),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.lecture}"
