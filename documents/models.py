import uuid

from django.conf import settings
from django.db import models

from core.storage import StoredFile
from courses.models import Course
from documents.validation import FILENAME_MAX_LENGTH

PDF_CONTENT_TYPE = "application/pdf"


def document_storage_key(document_id: uuid.UUID) -> str:
    """``documents/<id>.pdf``: the key never derives from the user's file name."""
    return f"{settings.DOCUMENTS_STORAGE_PREFIX}/{document_id}.pdf"


class Document(models.Model):
    """A PDF a student uploaded into one of their courses.

    One row per (owner, course, SHA-256): the same bytes uploaded twice into one course are
    one document. Deleting a row (directly, by queryset, or by deleting its course or owner)
    removes the stored file once the transaction commits (see ``documents.signals``).
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

    def stored_file(self) -> StoredFile:
        """The PDF, as the API and the admin serve it."""
        return StoredFile(
            key=self.storage_key,
            size=self.size_bytes,
            etag=f'"{self.sha256}"',
            filename=self.original_filename,
            content_type=PDF_CONTENT_TYPE,
        )
