"""The embedding job: a source's passages sent to the embeddings provider in batches, each
batch's vectors stored as it is answered.

``queued → embedding → completed``, or ``failed`` with a short message. Claims,
heartbeats, take-over and attempts are ``core.jobs``'; what each status resets is the
row's table (``Embedding.states``).

The job sends only the passages without a vector of the configured model and size (the
*space*), ``EMBEDDINGS_BATCH_SIZE`` to a request, and writes each batch's vectors under
the claim in one statement: a job that fails, is retried or is taken over sends only what
is left. Passages rebuilt meanwhile queue the row again, so the running job loses its
claim and writes nothing more; the next run embeds the new passages.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from core.jobs import Job, LostClaim, Outcome
from core.providers import ProviderError, Stopped
from search.models import Embedding, EmbeddingStatus, Passage
from search.provider import EmbeddingsClient, EmbeddingsSettings, embeddings_settings
from search.vectors import MISSING, vectors_available


class EmbeddingError(Exception):
    """An expected failure of the job; ``str()`` is the message for people."""


def embedding_process(*, embedding_id: uuid.UUID | str) -> Outcome:
    """Run the embedding job on one source's row; returns what happened (the task result).

    Never raises for embeddings that cannot be made: the row ends ``failed`` with the
    reason. Raises only for the unexpected, after marking it ``failed``.
    """
    return EmbeddingJob.run(uuid.UUID(str(embedding_id)))


class EmbeddingJob(Job):
    """The embedding job, on a source's ``Embedding`` row."""

    model = Embedding
    settings_prefix = "EMBEDDINGS"
    crash_message = "internal error while embedding"

    def failure_reason(self, error: Exception) -> str | None:
        if isinstance(error, EmbeddingError | ProviderError):
            return str(error)
        return None

    def work(self, scratch: Path) -> None:
        if settings.EMBEDDINGS_BACKEND != "openai":
            raise EmbeddingError("embeddings are turned off (EMBEDDINGS_BACKEND=none)")
        if not vectors_available(connection):
            raise EmbeddingError(MISSING)
        config = embeddings_settings()
        row = self.row
        source = (
            {"lecture_id": row.lecture_id} if row.lecture_id else {"document_id": row.document_id}
        )
        passages = Passage.objects.filter(**source)
        todo = list(
            passages.exclude(embedding_model=config.space)
            .order_by("index")
            .values_list("pk", flat=True)
        )
        self._total = passages.count()
        self._embedded = self._total - len(todo)
        size = settings.EMBEDDINGS_BATCH_SIZE
        batches = [todo[at : at + size] for at in range(0, len(todo), size)]
        # The claim's loss (seen by the heartbeat) also cuts a wait between retries short.
        client = EmbeddingsClient(config, stop=self.lost)
        try:
            for number, batch in enumerate(batches, start=1):
                self._embed(client, config, batch, f"{number} of {len(batches)}")
        finally:
            client.close()
        with self.holding_claim():
            counts = passages.aggregate(
                total=Count("pk"), embedded=Count("pk", filter=Q(embedding_model=config.space))
            )
            self.move(
                EmbeddingStatus.COMPLETED,
                {
                    "model": config.space,
                    "passage_count": counts["total"],
                    "embedded_count": counts["embedded"],
                },
                passages=counts["total"],
                sent=len(todo),
                requests=len(batches),
            )

    def _embed(
        self, client: EmbeddingsClient, config: EmbeddingsSettings, batch: list, which: str
    ) -> None:
        """Embed one batch of passages (their ids) and store its vectors under the claim."""
        rows = list(Passage.objects.filter(pk__in=batch).order_by("index").only("pk", "text"))
        if len(rows) < len(batch):
            # Deleted: the source was rebuilt or deleted, and its row queued again or gone.
            self.heartbeat()  # raises LostClaim
        # A blank passage has nothing to embed (providers refuse empty input): it is done
        # without a vector.
        sent = [row for row in rows if row.text.strip()]
        vectors: list[list[float]] = []
        if sent:
            try:
                vectors = client.embed([row.text for row in sent])
            except Stopped:
                raise LostClaim from None
            except ProviderError as error:
                # The URL called shows a wrong EMBEDDINGS_BASE_URL; the key is never in it.
                called = urlsplit(config.url)
                raise ProviderError(
                    f"batch {which}: {error} (POST {called.scheme}://{called.netloc}{called.path})",
                    transient=error.transient,
                ) from None
        for row in rows:
            row.embedding, row.embedding_model = None, config.space
        for row, vector in zip(sent, vectors, strict=True):
            row.embedding = vector
        with self.holding_claim():
            Passage.objects.bulk_update(rows, ["embedding", "embedding_model"])
            self._embedded += len(rows)
            self.update(
                embedded_count=self._embedded,
                progress=min(99, self._embedded * 100 // max(self._total, 1)),
                heartbeat_at=timezone.now(),
            )

    _total = _embedded = 0
