import uuid
from datetime import datetime

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models, transaction

from core.jobs import COMPLETED, FAILED, QUEUED, STARTED, JobStates
from core.models import JobRow
from core.storage import StoredFile
from courses.models import Course
from documents.validation import FILENAME_MAX_LENGTH

PDF_CONTENT_TYPE = "application/pdf"


class TextStatus(models.TextChoices):
    """Where a document's text stands. ``extracting`` is the job's claim; the API shows
    it as ``pending`` (it names three states: the text is there, failed, or not yet)."""

    PENDING = "pending"
    EXTRACTING = "extracting"
    COMPLETED = "completed"
    FAILED = "failed"


# What the API shows: a claimed job is still "not there yet" for the SPA.
PUBLIC_TEXT_STATUSES = [TextStatus.PENDING, TextStatus.COMPLETED, TextStatus.FAILED]


def document_storage_key(document_id: uuid.UUID) -> str:
    """``documents/<id>.pdf``: the key never derives from the user's file name."""
    return f"{settings.DOCUMENTS_STORAGE_PREFIX}/{document_id}.pdf"


class Document(models.Model):
    """A PDF a student uploaded into one of their courses.

    One row per (owner, course, SHA-256): the same bytes uploaded twice into one course are
    one document. Deleting a row (directly, by queryset, or by deleting its course or owner)
    removes the stored file once the transaction commits (see ``documents.signals``). Its
    text's state is a row of its own (``document.text``), created with it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="documents"
    )
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="documents")
    original_filename = models.CharField(
        max_length=FILENAME_MAX_LENGTH, help_text="For display only; never used as a path."
    )
    size_bytes = models.PositiveBigIntegerField()
    sha256 = models.CharField("SHA-256", max_length=64, editable=False)
    storage_key = models.CharField(max_length=255, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "course", "sha256"], name="unique_document_per_owner_course"
            ),
            models.CheckConstraint(
                condition=models.Q(size_bytes__gt=0), name="document_size_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(sha256__regex=r"^[0-9a-f]{64}$"), name="document_sha256_hex"
            ),
        ]
        indexes = [models.Index(fields=["owner", "-created_at"], name="document_owner_recent")]

    def __str__(self) -> str:
        return self.original_filename

    def save(self, *args, **kwargs) -> None:
        """A new document gets its text row (``pending``) in the same transaction, so every
        document has one (``bulk_create`` does not come here: its caller creates them)."""
        if not self._state.adding:
            super().save(*args, **kwargs)
            return
        with transaction.atomic(savepoint=False):
            super().save(*args, **kwargs)
            DocumentText.objects.create(document=self)

    @property
    def changed_at(self) -> datetime:
        """When the document or its text last changed: the ``updated_at`` of its API body,
        which shows both."""
        return max(self.updated_at, self.text.updated_at)

    def stored_file(self) -> StoredFile:
        """The PDF, as the API and the admin serve it."""
        return StoredFile(
            key=self.storage_key,
            size=self.size_bytes,
            etag=f'"{self.sha256}"',
            filename=self.original_filename,
            content_type=PDF_CONTENT_TYPE,
        )


class DocumentText(JobRow):
    """Where a document's text stands (the text job's row, ``documents/jobs.py``); the text
    itself is in ``DocumentPage`` rows. ``error_message`` says why it failed or, for a
    completed text, what the limits left out."""

    Status = TextStatus
    # Each status of the text job and what a move to it writes (core.jobs).
    states = JobStates(
        "document",
        metrics_kind="text",
        subject="document={pk} text",
        logger="studybuddy.documents",
        waiting=[TextStatus.PENDING],
        running=[TextStatus.EXTRACTING],
        failed=TextStatus.FAILED,
        resets={
            TextStatus.PENDING: {**QUEUED, "page_count": None},
            TextStatus.EXTRACTING: {**STARTED, "page_count": None},
            TextStatus.COMPLETED: COMPLETED,
            TextStatus.FAILED: {**FAILED, "page_count": None},
        },
    )

    document = models.OneToOneField(
        Document, primary_key=True, on_delete=models.CASCADE, related_name="text"
    )
    status = models.CharField(
        "text status", max_length=16, choices=TextStatus.choices, default=TextStatus.PENDING
    )
    page_count = models.PositiveIntegerField(
        null=True, blank=True, help_text="Pages whose text was extracted; empty until then."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "document text"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="document_text_progress_at_most_100"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=TextStatus.values),
                name="document_text_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"text of {self.document_id} ({self.status})"

    @property
    def public_status(self) -> str:
        """The status as the API shows it: ``extracting`` is still ``pending``."""
        if self.status == TextStatus.EXTRACTING:
            return TextStatus.PENDING.value
        return self.status


class DocumentPage(models.Model):
    """The text of one page of a document (pages count from 1), with its full-text vector.

    ``search_vector`` is written with the text, in the same statement, by
    ``documents.jobs`` (``core.fulltext.vector_of``): never ``to_tsvector(text)`` of the
    column itself, which in an UPDATE would read the old text. On the embedded SQLite it
    stays empty (no full-text search there; search falls back to substring matching).
    """

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="pages")
    # The document's owner, copied (a document never changes hands): a search filters on
    # it in this table, so PostgreSQL intersects the owner's pages with the full-text index
    # (a bitmap AND) instead of reading every page that has a common word.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", editable=False
    )
    number = models.PositiveIntegerField()
    text = models.TextField(blank=True)
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ["document", "number"]
        constraints = [
            models.UniqueConstraint(fields=["document", "number"], name="unique_document_page"),
            models.CheckConstraint(condition=models.Q(number__gte=1), name="document_page_from_1"),
        ]
        indexes = [GinIndex(fields=["search_vector"], name="document_page_search")]

    def __str__(self) -> str:
        return f"{self.document} p. {self.number}"
