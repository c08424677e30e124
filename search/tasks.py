"""django-q2 tasks of search: the embedding job (an id in, the job, nothing else) and the
scheduled reaper."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from core.jobs import task_result
from search.jobs import embedding_process
from search.services import embedding_reap_stale


def embed_passages(embedding_id: str) -> str:
    return task_result(
        embedding_process(embedding_id=embedding_id),
        f"embeddings {embedding_id} failed (see its error message)",
    )


def reap_stale_embeddings() -> str:
    """The scheduled reaper: queue embedding rows whose worker went silent, and those whose
    task was lost, again (as ``transcripts.tasks.reap_stale_transcripts`` does)."""
    stale_before = timezone.now() - timedelta(seconds=settings.EMBEDDINGS_STALE_SECONDS)
    # Longer than the broker's own re-delivery: until then a queued job may just be waiting.
    queued_before = stale_before - timedelta(seconds=settings.Q_RETRY_SECONDS)
    queued = embedding_reap_stale(stale_before=stale_before, queued_before=queued_before)
    return f"{queued} embeddings queued again"
