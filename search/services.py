"""Writes of search: queueing the embedding of a source's passages."""

from __future__ import annotations

import logging
import uuid
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django_q.tasks import async_task

from core.jobs import move
from search.models import Embedding, EmbeddingStatus
from search.vectors import vectors_available

logger = logging.getLogger("studybuddy.search")

TASK = "search.tasks.embed_passages"


def embeddings_enabled() -> bool:
    """Passages are embedded and searched by meaning: a provider is configured and the
    database has pgvector."""
    return settings.EMBEDDINGS_BACKEND == "openai" and vectors_available(connection)


def embedding_queue_for_source(
    *,
    passage_count: int,
    lecture_id: uuid.UUID | None = None,
    document_id: uuid.UUID | None = None,
) -> Embedding | None:
    """After a source's passages were rebuilt (in that transaction): queue their embedding,
    or, with no passages or embeddings off, drop the source's embedding row."""
    source = {"lecture_id": lecture_id} if lecture_id else {"document_id": document_id}
    if passage_count == 0 or not embeddings_enabled():
        Embedding.objects.filter(**source).delete()
        return None
    with transaction.atomic():
        embedding = Embedding.objects.select_for_update().filter(**source).first()
        embedding = embedding or Embedding(**source)
        move(
            embedding,
            EmbeddingStatus.QUEUED,
            {"attempt_count": 0, "passage_count": passage_count, "embedded_count": 0},
            reason="passages rebuilt",
        )
        transaction.on_commit(partial(embedding_enqueue, embedding_id=str(embedding.pk)))
    return embedding


def embedding_enqueue(*, embedding_id: str) -> bool:
    """Put the embedding job on the task queue; a broker that refuses is logged (the row
    stays ``queued``; ``embed_passages`` queues it again)."""
    try:
        async_task(TASK, embedding_id, task_name=f"embeddings {embedding_id}", group="embeddings")
    except Exception:
        logger.exception("embedding=%s could not be queued", embedding_id)
        return False
    return True
