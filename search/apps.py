from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SearchConfig(AppConfig):
    """Passages of every source of a student's material, their embeddings, and the
    searches over them (words, meaning, both)."""

    name = "search"
    verbose_name = "Search"

    def ready(self) -> None:
        from django.db.models.functions import Coalesce

        from accounts.selectors import usage_count_register
        from core.selectors import job_kind_register, job_row_kind
        from search import checks, signals  # noqa: F401  (checks, receivers)
        from search.embeddings import embedded_passages_per_user
        from search.models import Embedding
        from search.vectors import prepare_after_migrate

        post_migrate.connect(prepare_after_migrate, sender=self, dispatch_uid="search.vectors")
        # accounts sits below search: it learns of this count by registration.
        usage_count_register(
            name="embedded_passages",
            help_text=(
                "Passages of my lectures and documents searchable by meaning (with a vector "
                "of the configured embeddings model); 0 when embeddings are off."
            ),
            per_user=embedded_passages_per_user,
        )
        job_kind_register(
            job_row_kind(
                Embedding,
                name="embeddings",
                shown_on="search.Embedding",
                object_id="pk",
                # The source: a lecture or a document.
                label=Coalesce("lecture__title", "document__original_filename"),
                retry_action="queue_again",
                failed_filter="status__exact=failed",
            )
        )
