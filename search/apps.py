from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SearchConfig(AppConfig):
    """Passages of every source of a student's material, their embeddings, and the
    searches over them (words, meaning, both)."""

    name = "search"
    verbose_name = "Search"

    def ready(self) -> None:
        from accounts.selectors import usage_count_register
        from search import checks, signals  # noqa: F401  (checks, receivers)
        from search.embeddings import embedded_passages_per_user
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
