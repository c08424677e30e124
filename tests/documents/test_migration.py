"""The text job's state moves from the document's ``text_*`` columns to a row of its own
(``DocumentText``): a database holding documents in every text status migrates with every
value kept, and back."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from documents.models import Document, DocumentPage, DocumentText
from tests.factories import CourseFactory, UserFactory

BEFORE = [("documents", "0002_text")]


def migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def latest() -> list:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture
def before_the_move(transactional_db):
    """The schema with the text on the document's columns; the latest schema after."""
    executor = migrate(BEFORE)
    yield executor.loader.project_state(BEFORE).apps
    migrate(latest())


def old_documents(apps) -> dict[str, uuid.UUID]:
    """One document of each text status, as the old schema stored them."""
    owner, course = UserFactory(), CourseFactory()
    documents = apps.get_model("documents", "Document")
    beat = timezone.now() - timedelta(seconds=30)
    texts = {
        "pending": {},
        "extracting": {
            "text_status": "extracting",
            "text_attempt_count": 1,
            "text_claim_token": uuid.uuid4(),
            "text_heartbeat_at": beat,
        },
        "completed": {
            "text_status": "completed",
            "page_count": 2,
            "text_error": "the document's text was too long and was cut",
            "text_attempt_count": 1,
        },
        "failed": {"text_status": "failed", "text_error": "the PDF is encrypted"},
    }
    ids = {}
    for name, text in texts.items():
        document_id = uuid.uuid4()
        documents.objects.create(
            id=document_id,
            owner_id=owner.pk,
            course_id=course.pk,
            original_filename=f"{name}.pdf",
            size_bytes=100,
            sha256=uuid.uuid4().hex * 2,
            storage_key=f"documents/{document_id}.pdf",
            **text,
        )
        ids[name] = document_id
    pages = apps.get_model("documents", "DocumentPage")
    for number in (1, 2):
        pages.objects.create(
            document_id=ids["completed"], owner_id=owner.pk, number=number, text=f"page {number}"
        )
    return ids


def test_a_database_with_document_texts_keeps_every_value(before_the_move):
    ids = old_documents(before_the_move)
    old_extracting = before_the_move.get_model("documents", "Document").objects.get(
        pk=ids["extracting"]
    )
    completed_changed = (
        before_the_move.get_model("documents", "Document")
        .objects.get(pk=ids["completed"])
        .updated_at
    )

    migrate(latest())

    texts = {name: DocumentText.objects.get(document_id=pk) for name, pk in ids.items()}
    assert {name: text.status for name, text in texts.items()} == {
        "pending": "pending",
        "extracting": "extracting",
        "completed": "completed",
        "failed": "failed",
    }
    assert (texts["pending"].page_count, texts["pending"].attempt_count) == (None, 0)
    assert (texts["extracting"].claim_token, texts["extracting"].heartbeat_at) == (
        old_extracting.text_claim_token,
        old_extracting.text_heartbeat_at,
    )
    assert texts["extracting"].attempt_count == 1
    completed = texts["completed"]
    assert (completed.page_count, completed.progress, completed.completed_at) == (
        2,
        100,
        completed_changed,
    )
    assert completed.error_message == "the document's text was too long and was cut"
    assert (texts["failed"].error_message, texts["failed"].completed_at) == (
        "the PDF is encrypted",
        None,
    )
    assert list(
        DocumentPage.objects.filter(document_id=ids["completed"]).values_list("number", "text")
    ) == [(1, "page 1"), (2, "page 2")]
    assert Document.objects.select_related("text").get(pk=ids["failed"]).text.public_status == (
        "failed"
    )


def test_a_new_document_gets_its_text_row_after_the_move(before_the_move):
    migrate(latest())

    document = Document.objects.create(
        owner=UserFactory(),
        course=CourseFactory(),
        original_filename="new.pdf",
        size_bytes=100,
        sha256="a" * 64,
        storage_key="documents/new.pdf",
    )

    assert DocumentText.objects.get(document=document).status == "pending"


def test_migrating_back_returns_the_values_to_the_document(before_the_move):
    ids = old_documents(before_the_move)
    migrate(latest())

    old = migrate(BEFORE).loader.project_state(BEFORE).apps.get_model("documents", "Document")

    rows = {
        name: old.objects.values(
            "text_status", "page_count", "text_error", "text_attempt_count"
        ).get(pk=pk)
        for name, pk in ids.items()
    }
    assert rows["completed"] == {
        "text_status": "completed",
        "page_count": 2,
        "text_error": "the document's text was too long and was cut",
        "text_attempt_count": 1,
    }
    assert rows["failed"]["text_error"] == "the PDF is encrypted"
    assert old.objects.get(pk=ids["extracting"]).text_claim_token is not None
