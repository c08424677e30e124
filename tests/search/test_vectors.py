"""pgvector in a database that lacks it: ``migrate`` says so in one line when embeddings are
on, goes on with word search when they are off, and catches up once the extension is there.

Each test runs ``manage.py migrate`` for a fresh database owned by a role of its own, which
may not create the extension (pgvector is not a trusted extension): a PostgreSQL without
pgvector, as far as that role can tell.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from django.db import connection

from tests.test_settings import manage

pytestmark = pytest.mark.django_db


def _server_url(database: str, user: str) -> str:
    db = connection.settings_dict
    return f"postgresql://{user}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{database}"


@pytest.fixture
def database_without_pgvector() -> Iterator[tuple[str, str]]:
    """``(url as the role, url as the superuser)`` of a fresh database."""
    name = f"sb_novector_{uuid.uuid4().hex[:10]}"
    admin = _server_url("postgres", connection.settings_dict["USER"])
    with psycopg.connect(admin, autocommit=True) as server:
        server.execute(f"CREATE ROLE {name} LOGIN")
        server.execute(f"CREATE DATABASE {name} OWNER {name}")
    try:
        yield _server_url(name, name), _server_url(name, connection.settings_dict["USER"])
    finally:
        with psycopg.connect(admin, autocommit=True) as server:
            server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            server.execute(f"DROP ROLE IF EXISTS {name}")


def migrate(url: str, **env: str):
    return manage(
        "migrate",
        "--noinput",
        DJANGO_SETTINGS_MODULE="studybuddy.settings.test",
        DATABASE_URL=url,
        **env,
    )


def column_type(url: str) -> str:
    with psycopg.connect(url) as db:
        return db.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 'search_passage'::regclass AND attname = 'embedding'"
        ).fetchone()[0]


def test_with_embeddings_on_migrate_stops_with_one_line_saying_how_to_get_pgvector(
    database_without_pgvector,
):
    url, _ = database_without_pgvector

    result = migrate(url, EMBEDDINGS_BACKEND="openai", EMBEDDINGS_API_KEY="sk-test-key")

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if "pgvector" in line]
    assert len(lines) == 1
    assert "make pgvector" in lines[0] and "migrate" in lines[0]


def test_with_embeddings_off_migrate_goes_on_and_catches_up_once_pgvector_is_there(
    database_without_pgvector, pgvector
):
    url, superuser_url = database_without_pgvector

    first = migrate(url)

    assert first.returncode == 0, first.stderr
    assert "search is word search only" in first.stderr
    assert column_type(url) == "bytea"

    with psycopg.connect(superuser_url, autocommit=True) as db:
        db.execute("CREATE EXTENSION vector")
    again = migrate(url)

    assert again.returncode == 0, again.stderr
    assert column_type(url) == "vector"
    with psycopg.connect(url) as db:
        index = db.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'passage_embedding_1536'"
        ).fetchone()
    assert index and "hnsw" in index[0] and "vector_cosine_ops" in index[0]
