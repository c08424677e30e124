"""Search without PostgreSQL's full-text search (the embedded SQLite of ``make run``):
every word a case-insensitive substring, ``-word`` excluded, the same access rule, the same
escaped snippets. Run here on PostgreSQL with full-text search switched off, and once on a
real SQLite database in a child process."""

from __future__ import annotations

from pathlib import Path

import pytest

from search.snippets import plain_snippet, plain_terms
from tests.documents import pdfs
from tests.documents.text_helpers import extracted
from tests.search.material import run_on_sqlite

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def without_full_text(monkeypatch):
    monkeypatch.setattr("search.selectors.full_text_available", lambda: False)


def search(client, q: str, **params) -> dict:
    response = client.get("/api/search", {"q": q, **params})
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.django_db
def test_words_match_as_case_insensitive_substrings(alice_client, alice, without_full_text):
    extracted(alice, pdfs.text_pdf("Arrays and <b>matrices</b>", "only vectors"))

    found = search(alice_client, "ARRAY matri")

    assert [hit["page"] for hit in found["results"]] == [1]
    assert found["results"][0]["snippet"] == (
        "<mark>Array</mark>s and &lt;b&gt;<mark>matri</mark>ces&lt;/b&gt;"
    )
    assert found["results"][0]["rank"] == 0.0


@pytest.mark.django_db
def test_excluded_words_and_phrases(alice_client, alice, without_full_text):
    extracted(alice, pdfs.text_pdf("binary search tree", "tree search binary"))

    assert [h["page"] for h in search(alice_client, '"binary search"')["results"]] == [1]
    assert [h["page"] for h in search(alice_client, "tree -binary search")["results"]] == []
    assert [h["page"] for h in search(alice_client, 'tree -"binary search"')["results"]] == [2]
    assert search(alice_client, "-tree")["count"] == 0


@pytest.mark.django_db
def test_another_users_words_are_not_found_without_full_text(
    alice_client, alice, bob, without_full_text
):
    extracted(bob, pdfs.text_pdf("bob's private words"))

    assert search(alice_client, "private")["count"] == 0


def test_query_terms_for_substring_matching():
    assert plain_terms('matrix "binary tree" -inverse or -"old notes" OR') == (
        ("matrix", "binary tree"),
        ("inverse", "old notes"),
    )


def test_a_plain_snippet_is_cut_around_the_first_match_and_escaped():
    text = "x" * 300 + " the <needle> & more " + "y" * 300

    snippet = plain_snippet(text, ("needle",))

    assert snippet.startswith("… ") and snippet.endswith(" …")
    assert "&lt;<mark>needle</mark>&gt; &amp; more" in snippet


SQLITE_SCRIPT = """
import json
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from accounts.models import User
from courses.models import Course
from documents.models import Document, DocumentPage, DocumentText
from search.selectors import search_material
alice = User.objects.create(username="alice", clerk_id="user_alice")
bob = User.objects.create(username="bob", clerk_id="user_bob")
course = Course.objects.create(code="CSC 171", title="Intro")
for owner in (alice, bob):
    doc = Document.objects.create(
        owner=owner, course=course, original_filename=owner.username + ".pdf", size_bytes=1,
        sha256="0" * 64, storage_key="documents/" + owner.username + ".pdf",
    )
    DocumentText.objects.filter(document=doc).update(status="completed", page_count=1)
    DocumentPage.objects.create(
        document=doc, owner=owner, number=1, text="Sorting <b>arrays</b> fast"
    )
found = search_material(user=alice, q="ARRAYS", limit=20, offset=0)
hits = [[hit.title, hit.page, hit.snippet] for hit in found.hits]
print(json.dumps({"count": found.count, "hits": hits}))
"""


def test_on_sqlite_migrations_run_and_search_matches_substrings(tmp_path):
    assert run_on_sqlite(SQLITE_SCRIPT, tmp_path) == {
        "count": 1,
        "hits": [["alice.pdf", 1, "Sorting &lt;b&gt;<mark>arrays</mark>&lt;/b&gt; fast"]],
    }
