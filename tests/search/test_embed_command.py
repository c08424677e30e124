"""``embed_passages`` (the backfill after turning embeddings on or changing the model), and
the scheduled reaper of embedding rows."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_q.models import OrmQ

from search.management.commands import embed_passages
from search.models import Embedding
from search.services import TASK
from search.tasks import reap_stale_embeddings
from tests.search.embedding_helpers import (
    SPACE,
    captioned_lecture,
    embed,
    embedding_row,
    extracted_document,
    passages_of,
)
from tests.search.embedding_stub import Fault

pytestmark = pytest.mark.django_db


def command(*args: str) -> str:
    out = io.StringIO()
    call_command("embed_passages", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def queued_tasks() -> list[str]:
    return sorted(job.task["args"][0] for job in OrmQ.objects.all() if job.task["func"] == TASK)


@pytest.fixture
def material_before_embeddings(alice, alice_client, settings, embeddings_on):
    """A lecture and a document whose passages were built while embeddings were off."""
    settings.EMBEDDINGS_BACKEND = "none"
    lecture = captioned_lecture(alice_client, alice)
    document = extracted_document(alice, "Mitochondria produce ATP.")
    settings.EMBEDDINGS_BACKEND = "openai"
    return lecture, document


def test_missing_queues_every_source_with_passages_not_embedded(
    material_before_embeddings, django_capture_on_commit_callbacks
):
    lecture, document = material_before_embeddings

    with django_capture_on_commit_callbacks(execute=True):
        out = command("--missing")

    assert f"[1/2] lecture {lecture.id} {lecture.course.code} {lecture.title!r}: queued" in out
    assert f"[2/2] document {document.id}" in out
    assert out.rstrip().endswith("2 source(s): 2 queued, 0 skipped")
    rows = [embedding_row(lecture), embedding_row(document)]
    assert [row.status for row in rows] == ["queued", "queued"]
    assert rows[0].passage_count == len(passages_of(lecture))
    assert queued_tasks() == sorted(str(row.pk) for row in rows)


def test_dry_run_lists_and_changes_nothing(material_before_embeddings, embedding_stub):
    out = command("--missing", "--dry-run")

    assert out.count("would embed (embedding: none)") == 2
    assert "2 source(s) would be embedded (dry run: nothing changed)" in out
    assert not Embedding.objects.exists()
    assert queued_tasks() == []
    assert embedding_stub.received == []


def test_wait_embeds_here_and_reports_each_outcome(material_before_embeddings, embedding_stub):
    lecture, document = material_before_embeddings

    out = command("--missing", "--wait")

    count = len(passages_of(lecture))
    assert (
        f"lecture {lecture.id} {lecture.course.code} {lecture.title!r}: completed ({count} " in out
    )
    assert (
        f"document {document.id} {document.course.code} 'notes.pdf': completed (1 passages)" in out
    )
    assert "2 source(s): 2 completed, 0 failed, 0 skipped" in out
    assert all(p.embedding_model == SPACE for p in [*passages_of(lecture), *passages_of(document)])
    assert queued_tasks() == []


def test_wait_exits_non_zero_when_a_source_fails(material_before_embeddings, embedding_stub):
    embedding_stub.faults = [Fault(401)] * 10

    with pytest.raises(CommandError, match="2 source"):
        command("--wait")


def test_failed_queues_only_the_failed_sources(
    material_before_embeddings, embedding_stub, django_capture_on_commit_callbacks
):
    lecture, document = material_before_embeddings
    command("--wait", "--missing")  # both embedded
    Embedding.objects.filter(document=document).update(status="failed", error_message="boom")

    with django_capture_on_commit_callbacks(execute=True):
        out = command("--failed")

    assert "1 source(s): 1 queued, 0 skipped" in out
    assert queued_tasks() == [str(embedding_row(document).pk)]
    assert embedding_row(lecture).status == "completed"


def test_after_a_change_of_model_missing_embeds_every_source_anew(
    material_before_embeddings, embedding_stub, alice_client, settings
):
    lecture, _ = material_before_embeddings
    command("--missing", "--wait")
    embedded = alice_client.get("/api/me").json()["usage"]["embedded_passages"]
    settings.EMBEDDINGS_MODEL = "lexicon-test-2"
    after_the_change = alice_client.get("/api/me").json()["usage"]["embedded_passages"]
    embedding_stub.received.clear()

    out = command("--missing", "--wait")

    assert embedded == len(passages_of(lecture)) + 1
    assert after_the_change == 0
    assert "2 source(s): 2 completed, 0 failed, 0 skipped" in out
    assert {request["model"] for request in embedding_stub.received} == {"lexicon-test-2"}
    assert len(embedding_stub.inputs()) == embedded
    assert alice_client.get("/api/me").json()["usage"]["embedded_passages"] == embedded
    assert embedding_row(lecture).model == "lexicon-test-2/256"


def test_missing_leaves_sources_already_embedded_alone(material_before_embeddings, embedding_stub):
    command("--missing", "--wait")

    out = command("--missing")

    assert "0 source(s): 0 queued, 0 skipped" in out


def test_all_embeds_every_source_again(material_before_embeddings, embedding_stub):
    lecture, document = material_before_embeddings
    command("--missing", "--wait")
    embedding_stub.received.clear()

    out = command("--all", "--wait")

    assert "2 source(s): 2 completed, 0 failed, 0 skipped" in out
    expected = [p.text for p in passages_of(lecture)] + [p.text for p in passages_of(document)]
    assert embedding_stub.inputs() == expected


def test_a_source_queued_or_being_embedded_is_skipped(material_before_embeddings):
    lecture, _ = material_before_embeddings
    command("--missing")  # both queued
    Embedding.objects.filter(lecture=lecture).update(
        status="embedding", heartbeat_at=timezone.now(), attempt_count=1
    )

    out = command("--all")

    assert ": skipped, already embedding" in out
    assert ": skipped, already queued" in out
    assert "2 source(s): 0 queued, 2 skipped" in out


def test_the_command_refuses_when_embeddings_are_off(settings):
    settings.EMBEDDINGS_BACKEND = "none"

    with pytest.raises(CommandError, match=r"embeddings are turned off: set EMBEDDINGS_BACKEND"):
        command("--missing")


def test_the_command_refuses_without_pgvector(settings, monkeypatch):
    settings.EMBEDDINGS_BACKEND = "openai"
    monkeypatch.setattr(embed_passages, "vectors_available", lambda connection: False)

    with pytest.raises(CommandError, match="PostgreSQL has no pgvector extension"):
        command("--missing", "--dry-run")


# --- The scheduled reaper -------------------------------------------------------------


def test_the_reaper_runs_on_a_django_q_schedule(migrated_schedules):
    assert migrated_schedules["search.tasks.reap_stale_embeddings"] == ("I", 5, -1)


def test_the_reaper_queues_stale_and_lost_rows_again(
    alice, alice_client, embeddings_on, django_capture_on_commit_callbacks
):
    long_ago = timezone.now() - timedelta(days=1)
    stale, lost, fresh = (captioned_lecture(alice_client, alice) for _ in range(3))
    Embedding.objects.filter(lecture=stale).update(
        status="embedding", heartbeat_at=long_ago, attempt_count=1
    )
    Embedding.objects.filter(lecture=lost).update(updated_at=long_ago)  # queued, task lost
    Embedding.objects.filter(lecture=fresh).update(
        status="embedding", heartbeat_at=timezone.now(), attempt_count=1
    )

    with django_capture_on_commit_callbacks(execute=True):
        result = reap_stale_embeddings()

    assert result == "2 embeddings queued again"
    assert (embedding_row(stale).status, embedding_row(stale).attempt_count) == ("queued", 1)
    assert embedding_row(fresh).status == "embedding"
    assert queued_tasks() == sorted([str(embedding_row(stale).pk), str(embedding_row(lost).pk)])


def test_a_reaped_row_is_embedded_by_its_next_delivery(
    alice, alice_client, embeddings_on, django_capture_on_commit_callbacks
):
    lecture = captioned_lecture(alice_client, alice)
    Embedding.objects.filter(lecture=lecture).update(
        status="embedding", heartbeat_at=timezone.now() - timedelta(days=1), attempt_count=1
    )
    reap_stale_embeddings()

    row = embed(lecture)

    assert (row.status, row.attempt_count) == ("completed", 2)
