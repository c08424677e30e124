"""pgvector in the database: whether it is there, creating it, and the index of each vector
size.

Vectors need PostgreSQL's ``vector`` extension. The migration that creates the passages
(``EnableVectors``) creates the extension where the server has it; where it cannot (SQLite,
or a PostgreSQL without pgvector) the embedding column is an inert one and search is word
search only, unless embeddings are turned on (``EMBEDDINGS_BACKEND=openai``): then
``migrate`` stops with one line saying how to install pgvector. Every ``migrate`` then
catches up (``prepare_vectors``, on ``post_migrate``): an extension installed since is
created and the column becomes a vector column, and the configured size has its index.

The column holds vectors of any size, one model's after another's. The index is per size:
HNSW, cosine distance, over the column cast to that size (``vector(n)``, or ``halfvec(n)``
past pgvector's 2,000 dimensions for ``vector``), on the rows of that size only; a query
uses the same expression (``distance_sql``), as pgvector's documentation does for
mixed sizes.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.management.base import CommandError
from django.db import DatabaseError, connections, transaction
from django.db.migrations.operations.base import Operation

logger = logging.getLogger("studybuddy.search")

TABLE = "search_passage"
# pgvector indexes ``vector`` up to 2,000 dimensions and ``halfvec`` up to 4,000.
VECTOR_INDEX_MAX_DIMENSIONS = 2000

MISSING = (
    "PostgreSQL has no pgvector extension, which semantic search needs "
    "(EMBEDDINGS_BACKEND=openai): install it (`make pgvector` on this machine, or the "
    "postgresql-<version>-pgvector package) and run `manage.py migrate` again"
)


def vectors_available(connection) -> bool:
    """The database has the ``vector`` extension (checked once per database)."""
    if connection.vendor != "postgresql":
        return False
    known = connection.__dict__.setdefault("_studybuddy_vectors", {})
    name = connection.settings_dict["NAME"]
    if name not in known:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'")
            known[name] = cursor.fetchone() is not None
    return known[name]


def _create_extension(connection) -> bool:
    """``CREATE EXTENSION vector`` where the server has it; False where it does not."""
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except DatabaseError:
        return False
    connection.__dict__.setdefault("_studybuddy_vectors", {})[connection.settings_dict["NAME"]] = (
        True
    )
    return True


def _missing(connection) -> None:
    if settings.EMBEDDINGS_BACKEND != "none":
        raise CommandError(MISSING)
    logger.warning(
        "PostgreSQL has no pgvector extension: search is word search only "
        "(`make pgvector` installs it; then run migrate again)"
    )


class EnableVectors(Operation):
    """Create the ``vector`` extension where the server has it (see the module)."""

    reversible = True
    reduces_to_sql = False

    def state_forwards(self, app_label, state) -> None:
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        connection = schema_editor.connection
        if connection.vendor != "postgresql" or vectors_available(connection):
            return
        if not _create_extension(connection):
            _missing(connection)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        pass  # the extension stays: other databases' objects may use it

    def describe(self) -> str:
        return "Creates the pgvector extension where the server has it"


def index_name(dimensions: int) -> str:
    return f"passage_embedding_{dimensions}"


def _cast(dimensions: int) -> tuple[str, str]:
    """The type a vector of this size is indexed and compared as, and its operator class."""
    if dimensions <= VECTOR_INDEX_MAX_DIMENSIONS:
        return f"vector({dimensions})", "vector_cosine_ops"
    return f"halfvec({dimensions})", "halfvec_cosine_ops"


def distance_sql(dimensions: int) -> tuple[str, str]:
    """``(where, distance)``: the SQL that selects rows of this size and the cosine distance
    of their vector to a ``%s`` parameter, both as the size's index has them."""
    cast, _ = _cast(dimensions)
    return (
        f"vector_dims(embedding) = {int(dimensions)}",
        f"(embedding::{cast}) <=> %s::{cast}",
    )


def prepare_vectors(using: str = "default") -> None:
    """Catch up with the server and the settings: the extension where it is installed since
    the migration ran, a vector column, and the index of the configured size."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [TABLE])
        if cursor.fetchone()[0] is None:
            return  # not migrated this far
    if not vectors_available(connection) and not _create_extension(connection):
        _missing(connection)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attname = 'embedding'",
            [TABLE],
        )
        if cursor.fetchone()[0] != "vector":
            # Made before the extension existed: nothing can be in it.
            cursor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN embedding TYPE vector USING NULL")
            cursor.execute(f"UPDATE {TABLE} SET embedding_model = ''")  # noqa: S608
        dimensions = int(settings.EMBEDDINGS_DIMENSIONS)
        cast, operators = _cast(dimensions)
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {index_name(dimensions)} ON {TABLE} "
            f"USING hnsw ((embedding::{cast}) {operators}) "
            f"WHERE vector_dims(embedding) = {dimensions}"
        )


def prepare_after_migrate(sender, using: str = "default", **kwargs) -> None:
    """``post_migrate``'s receiver: ``prepare_vectors``."""
    prepare_vectors(using)
