"""Queue (or run here) the embedding of sources' passages: a backfill after turning
embeddings on or changing the model, and a retry for failed embeddings."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from core.commands import queue_or_run_each
from search import services
from search.embeddings import EmbeddingSource, embedding_of, embedding_sources
from search.jobs import embedding_process
from search.models import EmbeddingStatus
from search.provider import embeddings_settings
from search.vectors import MISSING, vectors_available


class Command(BaseCommand):
    help = (
        "Embed the passages of lectures and documents: --missing those with a passage "
        "without a vector of the configured model and size (never embedded, embedded by "
        "another model, or partly done), --failed those whose embedding failed (neither "
        "flag: both), --all every source with passages, embedded anew. Sources queued or "
        "being embedded are skipped. Prints one line per source and a summary. --dry-run "
        "changes nothing; --wait embeds in this process and reports each outcome (exit "
        "code 1 if any fails)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--missing", action="store_true", help="sources with passages not embedded yet"
        )
        parser.add_argument("--failed", action="store_true", help="sources whose embedding failed")
        parser.add_argument(
            "--all",
            dest="every",
            action="store_true",
            help="every source with passages, its vectors dropped and made again",
        )
        parser.add_argument("--dry-run", action="store_true", help="list, change nothing")
        parser.add_argument(
            "--wait", action="store_true", help="embed here and report how each ends"
        )

    def handle(self, *args, missing, failed, every, dry_run, wait, **options):
        if settings.EMBEDDINGS_BACKEND != "openai":
            raise CommandError(
                "embeddings are turned off: set EMBEDDINGS_BACKEND=openai (and the "
                "provider's EMBEDDINGS_BASE_URL, EMBEDDINGS_API_KEY)"
            )
        if not vectors_available(connection):
            raise CommandError(MISSING)
        space = embeddings_settings().space
        provider = f"{space} at {settings.EMBEDDINGS_BASE_URL}"

        def run(source: EmbeddingSource) -> tuple[bool, str]:
            embedding = embedding_of(**source.source)
            embedding_process(embedding_id=embedding.pk)
            embedding.refresh_from_db()
            if embedding.status == EmbeddingStatus.COMPLETED:
                return True, f"completed ({embedding.embedded_count} passages)"
            return False, f"{embedding.status} ({embedding.error_message})"

        self.stdout.write(f"embeddings: {provider}")
        counts = queue_or_run_each(
            self,
            embedding_sources(missing=missing, failed=failed, every=every),
            line=lambda s: f"{s.kind} {s.id} {s.course_code} {s.title!r}",
            would=lambda s: f"would embed (embedding: {s.status})",
            requeue=lambda s, enqueue: services.embedding_requeue(
                **s.source, redo=every, enqueue=enqueue
            ),
            run=run,
            things="source(s)",
            verb="embedded",
            dry_run=dry_run,
            wait=wait,
        )
        if counts["failed"]:
            raise CommandError(f"{counts['failed']} source(s) failed")
