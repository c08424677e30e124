"""Passages of a student's material and their embeddings.

A passage is a piece of one source that is searched and quoted whole: about a minute of a
lecture's transcript, or a paragraph-sized piece of one page of a document
(``search.passages`` cuts them). They are rebuilt, in the transaction that changes their
source, whenever a transcript or a document's text is replaced, and deleted with it.

Each source with passages has one ``Embedding`` row: the embedding job's state (``jobs.py``,
on ``core.jobs``). A passage's vector is stored with the model and size that made it
(``embedding_model``), and only vectors of the configured model are ever compared.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from pgvector.django import VectorField

from core.jobs import COMPLETED, FAILED, QUEUED, STARTED, JobStates
from core.models import JobRow
from search.vectors import vectors_available


class EmbeddingField(VectorField):
    """pgvector's ``vector`` (of any size: each model's size has its own index, see
    ``search.vectors``) where the database has the extension; elsewhere (SQLite, a
    PostgreSQL without pgvector) an inert column that stays empty, so that the rest of
    search works there."""

    def db_type(self, connection) -> str:
        if vectors_available(connection):
            return super().db_type(connection)
        return "bytea" if connection.vendor == "postgresql" else "blob"


class Passage(models.Model):
    """A piece of one lecture's transcript (``start``-``end`` seconds) or of one page of a
    document (``page``), as it is searched, embedded and quoted."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    lecture = models.ForeignKey(
        "lectures.Lecture", null=True, on_delete=models.CASCADE, related_name="passages"
    )
    document = models.ForeignKey(
        "documents.Document", null=True, on_delete=models.CASCADE, related_name="passages"
    )
    # A document's owner, copied (a document never changes hands), as on ``DocumentPage``:
    # the searches filter on it in this table. Lectures are shared: ``LectureLink`` says who
    # sees them.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+"
    )
    index = models.PositiveIntegerField(help_text="From 0, in the source's order.")
    start = models.FloatField(null=True, blank=True, help_text="Lecture passages: seconds.")
    end = models.FloatField(null=True, blank=True)
    page = models.PositiveIntegerField(null=True, blank=True, help_text="Document passages.")
    text = models.TextField()
    search_vector = SearchVectorField(null=True, editable=False)
    embedding = EmbeddingField(null=True, blank=True, editable=False)
    # The model and vector size that made ``embedding`` (``search.embeddings.space``); ""
    # when there is none.
    embedding_model = models.CharField(max_length=120, blank=True, editable=False)

    class Meta:
        ordering = ["lecture", "document", "index"]
        indexes = [
            GinIndex(fields=["search_vector"], name="passage_search"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(
                        lecture__isnull=False,
                        document__isnull=True,
                        start__isnull=False,
                        end__isnull=False,
                        page__isnull=True,
                    )
                    | models.Q(
                        lecture__isnull=True,
                        document__isnull=False,
                        owner__isnull=False,
                        page__isnull=False,
                    )
                ),
                name="passage_of_one_source",
            ),
            models.UniqueConstraint(
                fields=["lecture", "index"],
                condition=models.Q(lecture__isnull=False),
                name="unique_lecture_passage",
            ),
            models.UniqueConstraint(
                fields=["document", "index"],
                condition=models.Q(document__isnull=False),
                name="unique_document_passage",
            ),
        ]

    def __str__(self) -> str:
        if self.lecture_id:
            return f"lecture {self.lecture_id} {self.start:.0f}-{self.end:.0f} s"
        return f"document {self.document_id} p. {self.page} #{self.index}"


class EmbeddingStatus(models.TextChoices):
    QUEUED = "queued"
    EMBEDDING = "embedding"
    COMPLETED = "completed"
    FAILED = "failed"


class Embedding(JobRow):
    """The embedding job's row for one source's passages (a lecture's or a document's):
    queued when its passages are built, completed when every one has a vector of the
    configured model."""

    Status = EmbeddingStatus
    states = JobStates(
        "embedding",
        metrics_kind="embeddings",
        logger="studybuddy.search",
        waiting=[Status.QUEUED],
        running=[Status.EMBEDDING],
        failed=Status.FAILED,
        resets={
            Status.QUEUED: QUEUED,
            Status.EMBEDDING: STARTED,
            Status.COMPLETED: COMPLETED,
            Status.FAILED: FAILED,
        },
    )

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    lecture = models.OneToOneField(
        "lectures.Lecture", null=True, on_delete=models.CASCADE, related_name="embedding"
    )
    document = models.OneToOneField(
        "documents.Document", null=True, on_delete=models.CASCADE, related_name="embedding"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    model = models.CharField(
        max_length=120, blank=True, help_text="The model and size of the vectors."
    )
    passage_count = models.PositiveIntegerField(default=0)
    embedded_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(lecture__isnull=False, document__isnull=True)
                | models.Q(lecture__isnull=True, document__isnull=False),
                name="embedding_of_one_source",
            ),
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="embedding_progress_at_most_100"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=EmbeddingStatus.values),
                name="embedding_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="embedding_status_hb")]

    def __str__(self) -> str:
        source = f"lecture {self.lecture_id}" if self.lecture_id else f"document {self.document_id}"
        return f"embeddings of {source} ({self.status})"
