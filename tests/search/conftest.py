"""Search's fixtures: pgvector (or a skip saying how to get it) and embeddings turned on
against the stub provider on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection

from search.vectors import vectors_available
from tests.search.embedding_stub import API_KEY, DIMENSIONS, EmbeddingStub

NO_PGVECTOR = (
    "needs PostgreSQL's pgvector extension: run `make pgvector` (builds it from "
    "../shared/vendor; .ci/run does it), then the tests again"
)


@pytest.fixture
def pgvector(db) -> None:
    """Skips a test that needs vectors where the database has no pgvector."""
    if not vectors_available(connection):
        pytest.skip(NO_PGVECTOR)


@pytest.fixture
def embedding_stub() -> Iterator[EmbeddingStub]:
    stub = EmbeddingStub().start()
    yield stub
    stub.stop()


@pytest.fixture
def embeddings_on(settings, pgvector, embedding_stub: EmbeddingStub) -> EmbeddingStub:
    """``EMBEDDINGS_BACKEND=openai`` against the stub (its lexicon model, 256 dimensions)."""
    settings.EMBEDDINGS_BACKEND = "openai"
    settings.EMBEDDINGS_BASE_URL = embedding_stub.base_url
    settings.EMBEDDINGS_API_KEY = API_KEY
    settings.EMBEDDINGS_MODEL = "lexicon-test"
    settings.EMBEDDINGS_DIMENSIONS = DIMENSIONS
    settings.EMBEDDINGS_RETRY_BACKOFF_SECONDS = 0.01
    settings.EMBEDDINGS_RETRY_BACKOFF_CAP_SECONDS = 0.05
    return embedding_stub
