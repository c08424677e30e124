"""System checks of the embeddings settings (see ``core.checks``)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import DatabaseError, connections

from core.checks import provider_key_errors
from search.vectors import MISSING, vectors_available


@register()
def embeddings_key_check(app_configs, **kwargs) -> list[Error]:
    """A provider on another machine needs a key; one on loopback may not."""
    return provider_key_errors("EMBEDDINGS", "search.E001")


@register(Tags.database)
def embeddings_vectors_check(app_configs, databases=None, **kwargs) -> list[CheckMessage]:
    """Embeddings need pgvector: without it passages are never embedded and search stays
    word search. Run where a command asks for the database's checks (``migrate``,
    ``check --database default``), not at every start-up."""
    if settings.EMBEDDINGS_BACKEND != "openai" or not databases or "default" not in databases:
        return []
    connection = connections["default"]
    if connection.vendor != "postgresql":
        return [
            Warning(
                "EMBEDDINGS_BACKEND=openai has no effect on this database: vectors need "
                "PostgreSQL with pgvector, so search is word search only",
                id="search.W001",
            )
        ]
    try:
        if vectors_available(connection) or server_has_pgvector(connection):
            # Created, or ``migrate`` creates it (and says so if it may not).
            return []
    except DatabaseError:
        return []  # the database is not reachable: other checks and commands say so
    return [Error(MISSING, id="search.E002")]


def server_has_pgvector(connection) -> bool:
    """The PostgreSQL server has pgvector's files: ``CREATE EXTENSION`` would work."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
        return cursor.fetchone() is not None
