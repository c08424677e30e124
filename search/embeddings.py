"""Reads about embeddings: the sources whose passages need embedding (``embed_passages``),
and how many of a user's passages have a vector (``usage.embedded_passages`` of
``/api/me``).

A passage counts as embedded only with a vector of the configured model and size, the
*space* (``EmbeddingsSettings.space``): vectors of another model are never compared with
the configured one's, so after a change of model they are missing again until the
sources are embedded anew.
"""

from __future__ import annotations

import operator
import uuid
from dataclasses import dataclass
from functools import reduce

from django.db.models import (
    BigIntegerField,
    Exists,
    Expression,
    F,
    Func,
    OuterRef,
    Q,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from documents.models import Document
from lectures.models import Lecture, LectureLink
from search.models import Embedding, EmbeddingStatus, Passage
from search.provider import embeddings_settings
from search.services import embeddings_enabled


@dataclass(frozen=True)
class EmbeddingSource:
    """A lecture or a document with passages, as ``embed_passages`` lists it."""

    kind: str  # "lecture" or "document"
    id: uuid.UUID
    course_code: str
    title: str
    status: str  # its embedding row's, or "none"

    @property
    def source(self) -> dict[str, uuid.UUID]:
        """The keyword arguments that name it to the services."""
        return {f"{self.kind}_id": self.id}


def embedding_sources(
    *, missing: bool = False, failed: bool = False, every: bool = False
) -> list[EmbeddingSource]:
    """Lectures, then documents, with passages: every one (``every``), or those with a
    passage without a vector of the configured space (``missing``: never embedded,
    embedded by another model, or partly done) and those whose embedding failed
    (``failed``); neither flag: both."""
    if not (missing or failed):
        missing = failed = True
    space = embeddings_settings().space
    found: list[EmbeddingSource] = []
    for kind, model, title in (
        ("lecture", Lecture, "title"),
        ("document", Document, "original_filename"),
    ):
        passages = Passage.objects.filter(**{kind: OuterRef("pk")})
        wanted = Q(Exists(passages))
        if not every:
            chosen = []
            if missing:
                chosen.append(Q(Exists(passages.exclude(embedding_model=space))))
            if failed:
                chosen.append(Q(embedding__status=EmbeddingStatus.FAILED))
            wanted &= reduce(operator.or_, chosen)
        rows = (
            model.objects.filter(wanted)
            .order_by("created_at", "pk")
            .values_list("pk", "course__code", title, "embedding__status")
        )
        found.extend(
            EmbeddingSource(kind, pk, code, name, status or "none")
            for pk, code, name, status in rows
        )
    return found


def embedding_of(
    *, lecture_id: uuid.UUID | None = None, document_id: uuid.UUID | None = None
) -> Embedding | None:
    """A source's embedding row, or ``None``."""
    source = {"lecture_id": lecture_id} if lecture_id else {"document_id": document_id}
    return Embedding.objects.filter(**source).first()


def embedded_passages_per_user() -> Expression:
    """The passages of each user's own material (lectures linked to them, documents they
    own) with a vector of the configured space, as an expression over users
    (``OuterRef("pk")``); 0 when embeddings are off."""
    if not embeddings_enabled():
        return Value(0)
    linked = LectureLink.objects.filter(user=OuterRef(OuterRef("pk"))).values("lecture_id")
    passages = Passage.objects.filter(
        Q(owner=OuterRef("pk")) | Q(lecture_id__in=linked),
        embedding_model=embeddings_settings().space,
        embedding__isnull=False,
    )
    total = passages.order_by().annotate(total=Func(F("pk"), function="COUNT")).values("total")
    return Coalesce(Subquery(total, output_field=BigIntegerField()), 0)
