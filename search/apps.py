from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SearchConfig(AppConfig):
    """Passages of every source of a student's material, their embeddings, and the
    searches over them (words, meaning, both)."""

    name = "search"
    verbose_name = "Search"

    def ready(self) -> None:
        from search import signals  # noqa: F401  (receivers)
        from search.vectors import prepare_after_migrate

        post_migrate.connect(prepare_after_migrate, sender=self, dispatch_uid="search.vectors")
