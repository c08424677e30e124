"""Writes of search: queueing the embedding of a source's passages (after they are rebuilt,
from the command and the admin, and by the scheduled reaper)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django_q.tasks import async_task

from core.jobs import move, requeue_stale_rows
from search.models import Embedding, EmbeddingStatus, Passage
from search.provider import embeddings_settings
from search.vectors import vectors_available

logger = logging.getLogger("studybuddy.search")

TASK = "search.tasks.embed_passages"


def embeddings_enabled() -> bool:
    """Passages are embedded and searched by meaning: a provider is configured and the
    database has pgvector."""
    return settings.EMBEDDINGS_BACKEND == "openai" and vectors_available(connection)


def _source(lecture_id: uuid.UUID | None, document_id: uuid.UUID | None) -> dict[str, uuid.UUID]:
    return {"lecture_id": lecture_id} if lecture_id else {"document_id": document_id}


def embedding_lock_for_source(
    *, lecture_id: uuid.UUID | None = None, document_id: uuid.UUID | None = None
) -> None:
    """Lock the source's embedding row, if it has one, before its passages are replaced
    (in that transaction). The embedding job writes vectors holding this lock
    (``Job.holding_claim``): both writers take the row first and the passages second, so
    neither waits for the other while holding what the other needs."""
    rows = Embedding.objects.select_for_update().filter(**_source(lecture_id, document_id))
    list(rows.values_list("pk", flat=True))


def _locked_row(source: dict[str, uuid.UUID]) -> tuple[Embedding, bool]:
    """The source's embedding row, locked, and whether it is new. The insert does nothing
    when another transaction creates the row at the same moment (the command and a
    rebuild of the passages), and the lock then waits for that one."""
    row = Embedding.objects.select_for_update().filter(**source).first()
    if row is not None:
        return row, False
    Embedding.objects.bulk_create([Embedding(**source)], ignore_conflicts=True)
    return Embedding.objects.select_for_update().get(**source), True


def embedding_queue_for_source(
    *,
    passage_count: int,
    lecture_id: uuid.UUID | None = None,
    document_id: uuid.UUID | None = None,
) -> Embedding | None:
    """After a source's passages were rebuilt (in that transaction): queue their embedding,
    or, with no passages or embeddings off, drop the source's embedding row."""
    source = _source(lecture_id, document_id)
    if passage_count == 0 or not embeddings_enabled():
        Embedding.objects.filter(**source).delete()
        return None
    with transaction.atomic():
        embedding, _ = _locked_row(source)
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
    stays ``queued``; the scheduled reaper and ``embed_passages`` queue it again)."""
    try:
        async_task(TASK, embedding_id, task_name=f"embeddings {embedding_id}", group="embeddings")
    except Exception:
        logger.exception("embedding=%s could not be queued", embedding_id)
        return False
    return True


def embedding_requeue(
    *,
    lecture_id: uuid.UUID | None = None,
    document_id: uuid.UUID | None = None,
    redo: bool = False,
    enqueue: bool = True,
) -> str:
    """Queue the embedding of a source's passages (``embed_passages``, the admin's "Queue
    again"): the job sends the passages without a vector of the configured model, so a
    failed or partly done source resumes and one of another model is embedded anew.
    ``redo`` drops the source's vectors first, so every passage is sent again. A source
    queued or being embedded right now is left alone. Returns ``"queued"`` or why not."""
    source = _source(lecture_id, document_id)
    with transaction.atomic():
        # The row first, the passages second: the order of every writer of both.
        embedding, new = _locked_row(source)
        if not new and embedding.status in (EmbeddingStatus.QUEUED, EmbeddingStatus.EMBEDDING):
            # A stale one is the scheduled reaper's.
            return f"skipped, already {embedding.status}"
        passages = Passage.objects.filter(**source)
        count = passages.count()
        if count == 0:
            embedding.delete()
            return "skipped, no passages"
        if redo:
            passages.update(embedding=None, embedding_model="")
        embedded = passages.filter(embedding_model=embeddings_settings().space).count()
        move(
            embedding,
            EmbeddingStatus.QUEUED,
            {"attempt_count": 0, "passage_count": count, "embedded_count": embedded},
            reason="redo" if redo else "requested",
        )
        if enqueue:
            transaction.on_commit(partial(embedding_enqueue, embedding_id=str(embedding.pk)))
    return "queued"


def embedding_reap_stale(*, stale_before: datetime, queued_before: datetime) -> int:
    """The scheduled reaper's part for embeddings: queue again the rows whose worker went
    silent before ``stale_before`` and those ``queued`` since before ``queued_before``
    (their task was lost). Returns how many were queued."""
    return requeue_stale_rows(
        Embedding,
        stale_before=stale_before,
        queued_before=queued_before,
        enqueue=lambda pk: embedding_enqueue(embedding_id=pk),
    )
