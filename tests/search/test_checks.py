"""System checks of the embeddings settings: the key (``search.E001``) and pgvector
(``search.E002``)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from search import checks
from tests.test_settings import system_check_errors

pytestmark = pytest.mark.django_db


@pytest.fixture
def openai(settings):
    settings.EMBEDDINGS_BACKEND = "openai"
    settings.EMBEDDINGS_BASE_URL = "https://api.openai.com/v1"
    settings.EMBEDDINGS_API_KEY = "sk-test"
    return settings


def database_check() -> str:
    """What ``manage.py check --database default`` reports (its error, or its output)."""
    out = io.StringIO()
    try:
        call_command("check", "--database", "default", stdout=out, stderr=out)
    except SystemCheckError as failure:
        return str(failure)
    return out.getvalue()


def test_the_openai_backend_without_a_key_fails_the_system_checks(openai):
    openai.EMBEDDINGS_API_KEY = ""

    assert system_check_errors() == [
        "(search.E001) EMBEDDINGS_BACKEND=openai needs EMBEDDINGS_API_KEY (only a server on "
        "loopback may go without one)"
    ]


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "localhost:11434", "[::1]:8000"])
def test_a_server_on_loopback_needs_no_key(openai, host):
    openai.EMBEDDINGS_API_KEY = ""
    openai.EMBEDDINGS_BASE_URL = f"http://{host}/v1"

    assert system_check_errors() == []


def test_a_database_with_pgvector_passes(openai, pgvector):
    assert "no issues" in database_check()


def test_a_server_without_pgvector_fails_the_database_checks(openai, monkeypatch):
    monkeypatch.setattr(checks, "vectors_available", lambda connection: False)
    monkeypatch.setattr(checks, "server_has_pgvector", lambda connection: False)

    report = database_check()

    assert "(search.E002) PostgreSQL has no pgvector extension" in report
    assert "`make pgvector`" in report


def test_pgvector_the_server_has_but_the_database_lacks_is_left_to_migrate(
    openai, monkeypatch, pgvector
):
    monkeypatch.setattr(checks, "vectors_available", lambda connection: False)

    assert "no issues" in database_check()


def test_without_embeddings_the_database_is_not_asked(settings, monkeypatch):
    settings.EMBEDDINGS_BACKEND = "none"
    monkeypatch.setattr(checks, "vectors_available", lambda connection: False)
    monkeypatch.setattr(checks, "server_has_pgvector", lambda connection: False)

    assert "no issues" in database_check()
