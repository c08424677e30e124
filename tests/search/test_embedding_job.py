"""The embedding job, in-process, against the embeddings stub on 127.0.0.1: the vectors a
student's passages end with, the row an operator reads, the requests the provider got."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from lectures.models import Lecture
from search.jobs import embedding_process
from search.models import Embedding, Passage
from search.passages import passages_rebuild_lecture
from search.services import embedding_requeue
from tests.factories import EnrollmentFactory, UserFactory
from tests.lectures.factories import LectureFactory, LectureLinkFactory
from tests.search.embedding_helpers import (
    SPACE,
    captioned_lecture,
    captions,
    embed,
    embedding_row,
    extracted_document,
    in_thread,
    passages_of,
    put_captions,
)
from tests.search.embedding_stub import API_KEY, DIMENSIONS, Fault, lexicon_vector
from tests.transcripts.helpers import completed_transcript
from tests.waiting import poll_until, wait_until

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("embeddings_on")]


def assert_embedded(obj) -> None:
    """Every passage of the source has the stub model's vector of its own text."""
    passages = passages_of(obj)
    assert passages
    for passage in passages:
        assert passage.embedding_model == SPACE
        assert list(passage.embedding) == pytest.approx(lexicon_vector(passage.text, DIMENSIONS))


def vectors_stored(obj) -> int:
    return sum(1 for p in passages_of(obj) if p.embedding is not None)


# --- The sources ----------------------------------------------------------------------


def test_captions_put_through_the_api_end_with_a_vector_of_the_space_on_every_passage(
    alice, alice_client, embedding_stub
):
    lecture = captioned_lecture(alice_client, alice, seconds=300)
    queued = embedding_row(lecture)

    row = embed(lecture)

    passages = passages_of(lecture)
    assert queued.status == "queued"
    assert (row.outcome, row.status, row.progress, row.error_message) == (
        "completed",
        "completed",
        100,
        "",
    )
    assert (row.model, row.passage_count, row.embedded_count) == (
        SPACE,
        len(passages),
        len(passages),
    )
    assert row.claim_token is None
    assert len(passages) >= 3
    assert_embedded(lecture)
    assert embedding_stub.inputs() == [p.text for p in passages]


def test_each_request_names_the_model_and_sends_no_dimensions_to_other_models(
    alice, alice_client, embedding_stub
):
    embed(captioned_lecture(alice_client, alice))

    assert [set(request) for request in embedding_stub.received] == [{"model", "input"}]
    assert embedding_stub.received[0]["model"] == "lexicon-test"


def test_openais_third_generation_models_are_sent_the_dimensions(
    alice, alice_client, embedding_stub, settings
):
    settings.EMBEDDINGS_MODEL = "text-embedding-3-small"

    row = embed(captioned_lecture(alice_client, alice))

    assert row.status == "completed", row.error_message
    assert {request["dimensions"] for request in embedding_stub.received} == {DIMENSIONS}
    assert row.model == f"text-embedding-3-small/{DIMENSIONS}"


def test_a_documents_text_job_builds_passages_that_the_job_embeds(alice, embedding_stub):
    document = extracted_document(
        alice, "Mitochondria produce ATP for the cell.", "Ribosomes build proteins."
    )
    assert embedding_row(document).status == "queued"

    row = embed(document)

    assert (row.status, row.passage_count, row.embedded_count) == ("completed", 2, 2)
    assert [p.page for p in passages_of(document)] == [1, 2]
    assert_embedded(document)


def test_passages_are_sent_in_batches_of_the_batch_size(
    alice, alice_client, embedding_stub, settings
):
    settings.EMBEDDINGS_BATCH_SIZE = 2
    lecture = captioned_lecture(alice_client, alice, seconds=600)
    count = len(passages_of(lecture))

    row = embed(lecture)

    sizes = [len(request["input"]) for request in embedding_stub.received]
    assert sizes == [2] * (count // 2) + ([1] if count % 2 else [])
    assert row.status == "completed"
    assert_embedded(lecture)


def test_with_embeddings_off_captions_and_texts_get_passages_but_no_job(
    alice, alice_client, embedding_stub, settings
):
    settings.EMBEDDINGS_BACKEND = "none"

    lecture = captioned_lecture(alice_client, alice)
    document = extracted_document(alice, "Mitochondria produce ATP.")

    assert passages_of(lecture) and passages_of(document)
    assert not Embedding.objects.exists()
    assert all(p.embedding is None and p.embedding_model == "" for p in Passage.objects.all())
    assert embedding_stub.received == []


def test_the_job_fails_when_embeddings_were_turned_off_meanwhile(
    alice, alice_client, embedding_stub, settings
):
    lecture = captioned_lecture(alice_client, alice)
    settings.EMBEDDINGS_BACKEND = "none"

    row = embed(lecture)

    assert (row.outcome, row.status) == ("failed", "failed")
    assert row.error_message == "embeddings are turned off (EMBEDDINGS_BACKEND=none)"
    assert embedding_stub.received == []


def test_a_passage_without_words_is_done_without_sending_it(alice, embedding_stub):
    lecture = LectureFactory(course=EnrollmentFactory(user=alice).course)
    completed_transcript(lecture, [(0.0, 1.0, "")])
    passages_rebuild_lecture(lecture_id=lecture.id)

    row = embed(lecture)

    assert (row.status, row.passage_count) == ("completed", 1)
    assert embedding_stub.received == []
    assert [(p.embedding, p.embedding_model) for p in passages_of(lecture)] == [(None, SPACE)]


# --- Provider faults ------------------------------------------------------------------


def test_a_429_is_retried_after_its_retry_after(alice, alice_client, embedding_stub, caplog):
    lecture = captioned_lecture(alice_client, alice)
    embedding_stub.faults = [Fault(429, headers={"Retry-After": "1"})]

    row = embed(lecture)

    assert row.status == "completed", row.error_message
    # The wait is the provider's Retry-After, not the settings' 0.01 s back-off.
    assert "HTTP 429; retry 1 in 1.0 s" in caplog.text
    assert embedding_stub.requests == 2
    assert_embedded(lecture)


@pytest.mark.parametrize(
    "fault",
    [Fault(500), Fault(503), Fault(drop=True), Fault(stall=5)],
    ids=["500", "503", "dropped connection", "timeout"],
)
def test_a_transient_failure_is_retried_and_the_job_completes(
    alice, alice_client, embedding_stub, settings, fault
):
    settings.EMBEDDINGS_TIMEOUT_SECONDS = 1
    lecture = captioned_lecture(alice_client, alice)
    embedding_stub.faults = [fault]

    row = embed(lecture)

    assert row.status == "completed", row.error_message
    assert embedding_stub.requests == 2
    assert_embedded(lecture)


def test_a_provider_failing_every_time_fails_the_job_after_the_retries(
    alice, alice_client, embedding_stub, settings
):
    settings.EMBEDDINGS_RETRIES = 2
    lecture = captioned_lecture(alice_client, alice)
    embedding_stub.faults = [Fault(503)] * 10

    row = embed(lecture)

    assert (row.outcome, row.status) == ("failed", "failed")
    assert row.error_message == (
        "batch 1 of 1: the embeddings provider failed with HTTP 503 (3 attempts) "
        f"(POST {embedding_stub.base_url}/embeddings)"
    )
    assert embedding_stub.requests == 3


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (
            Fault(401, body=b'{"error": {"message": "Incorrect API key provided: sk-test-0123"}}'),
            "the embeddings provider refused the API key (HTTP 401); check EMBEDDINGS_API_KEY",
        ),
        (
            Fault(400, body=b'{"error": {"message": "This model does not exist."}}'),
            "the embeddings provider refused the request (HTTP 400: This model does not exist.)",
        ),
        (
            Fault(200, body=b"<html>not json</html>"),
            "the embeddings provider's answer is not JSON (malformed answer)",
        ),
        (
            Fault(huge=5 * 1024 * 1024),
            "the embeddings provider's answer is larger than 1 MiB (malformed answer)",
        ),
    ],
    ids=["401", "400", "not json", "5 MiB answer"],
)
def test_a_permanent_failure_fails_at_once_with_a_short_message(
    alice, alice_client, embedding_stub, settings, caplog, fault, message
):
    settings.EMBEDDINGS_MAX_ANSWER_BYTES = 1024 * 1024
    caplog.set_level(logging.DEBUG)
    lecture = captioned_lecture(alice_client, alice)
    embedding_stub.faults = [fault]

    row = embed(lecture)

    assert (row.outcome, row.status) == ("failed", "failed")
    assert row.error_message.startswith(f"batch 1 of 1: {message} (POST http://127.0.0.1:")
    assert embedding_stub.requests == 1
    assert vectors_stored(lecture) == 0
    assert API_KEY not in row.error_message and "0123" not in row.error_message
    assert API_KEY not in caplog.text


def test_a_bad_key_is_refused_named_and_never_shown(
    alice, alice_client, embedding_stub, settings, caplog
):
    settings.EMBEDDINGS_API_KEY = "sk-wrong-key-that-must-stay-secret"
    caplog.set_level(logging.DEBUG)
    lecture = captioned_lecture(alice_client, alice)

    row = embed(lecture)

    assert row.status == "failed"
    assert "refused the API key (HTTP 401); check EMBEDDINGS_API_KEY" in row.error_message
    assert "sk-wrong" not in row.error_message
    assert "sk-wrong" not in caplog.text


def test_vectors_of_another_size_fail_the_job_saying_which_setting_to_fix(
    alice, alice_client, embedding_stub, settings
):
    lecture = captioned_lecture(alice_client, alice)
    settings.EMBEDDINGS_DIMENSIONS = 300  # the stub's model answers 256

    row = embed(lecture)

    assert row.status == "failed"
    assert (
        "the embeddings provider answered vectors of 256 dimensions, not 300; set "
        "EMBEDDINGS_DIMENSIONS to the model's size"
    ) in row.error_message
    assert vectors_stored(lecture) == 0


def test_an_answer_with_a_vector_missing_fails_the_job(alice, alice_client, embedding_stub):
    lecture = captioned_lecture(alice_client, alice)
    embedding_stub.answer = lambda request: {
        "data": [
            {"index": i, "embedding": lexicon_vector(text)}
            for i, text in enumerate(request["input"][:-1])
        ]
    }

    row = embed(lecture)

    assert row.status == "failed"
    assert "does not have one vector per passage (malformed answer)" in row.error_message
    assert vectors_stored(lecture) == 0


# --- Resuming, idempotence, changes while it runs --------------------------------------


def test_a_failure_keeps_the_batches_answered_and_a_retry_sends_only_the_rest(
    alice, alice_client, embedding_stub, settings
):
    settings.EMBEDDINGS_BATCH_SIZE = 2
    lecture = captioned_lecture(alice_client, alice, seconds=600)
    texts = [p.text for p in passages_of(lecture)]
    embedding_stub.faults = [Fault(), Fault(400)]  # the first batch answered, the second refused

    first = embed(lecture)
    kept = [p.text for p in passages_of(lecture) if p.embedding_model == SPACE]
    assert embedding_request_again(lecture) == "queued"
    embedding_stub.received.clear()
    second = embed(lecture)

    assert (first.status, first.embedded_count) == ("failed", 2)
    assert first.error_message.startswith(f"batch 2 of {(len(texts) + 1) // 2}: ")
    assert kept == texts[:2]
    assert second.status == "completed"
    assert embedding_stub.inputs() == texts[2:]
    assert_embedded(lecture)


def embedding_request_again(lecture: Lecture) -> str:
    return embedding_requeue(lecture_id=lecture.id)


def test_a_second_delivery_of_the_job_does_nothing(alice, alice_client, embedding_stub):
    lecture = captioned_lecture(alice_client, alice)
    first = embed(lecture)

    second = embedding_process(embedding_id=first.pk)

    assert (first.outcome, second) == ("completed", "skipped")
    assert embedding_stub.requests == 1


def test_a_job_taken_over_from_a_worker_that_died_sends_only_what_is_left(
    alice, alice_client, embedding_stub, settings
):
    settings.EMBEDDINGS_BATCH_SIZE = 2
    lecture = captioned_lecture(alice_client, alice, seconds=600)
    embedding_stub.faults = [Fault(), Fault(400)]
    embed(lecture)  # the first batch stored
    # As a worker killed mid-job leaves it: running, its heartbeat long stopped.
    Embedding.objects.filter(lecture=lecture).update(
        status="embedding", claim_token=None, heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    embedding_stub.received.clear()

    row = embed(lecture)

    assert (row.status, row.attempt_count) == ("completed", 2)
    assert embedding_stub.inputs() == [p.text for p in passages_of(lecture)][2:]


@pytest.mark.django_db(transaction=True)
def test_a_source_deleted_while_its_job_waits_for_the_provider_leaves_nothing(
    alice, alice_client, embedding_stub
):
    lecture = captioned_lecture(alice_client, alice)
    embedding_stub.hold = OnFirstRequest(lambda: Lecture.objects.filter(pk=lecture.pk).delete())

    row = embed(lecture)

    assert row.outcome == "abandoned"
    assert not Embedding.objects.exists()
    assert not Passage.objects.exists()
    assert embedding_stub.requests == 1


@pytest.mark.django_db(transaction=True)
def test_passages_rebuilt_while_the_job_runs_are_not_written_by_it_and_are_queued_again(
    alice, alice_client, embedding_stub, client_for
):
    admin = UserFactory(is_staff=True)  # an API admin may replace a completed transcript
    lecture = captioned_lecture(alice_client, alice, topic="cells")
    LectureLinkFactory(user=admin, lecture=lecture)
    replaced = OnFirstRequest(
        lambda: put_captions(client_for(admin), lecture, captions(300, topic="energy"))
    )
    embedding_stub.hold = replaced

    old_job = embed(lecture)

    assert replaced.result.status_code == 200
    assert old_job.outcome == "abandoned"
    assert old_job.status == "queued"
    assert old_job.passage_count == len(passages_of(lecture))
    assert all("energy" in p.text and p.embedding is None for p in passages_of(lecture))
    embedding_stub.hold = None
    embedding_stub.received.clear()

    new_job = embed(lecture)

    assert new_job.status == "completed"
    assert embedding_stub.inputs() == [p.text for p in passages_of(lecture)]
    assert_embedded(lecture)


@pytest.mark.django_db(transaction=True)
def test_a_lost_claim_stops_a_wait_for_a_retry(alice, alice_client, embedding_stub, settings):
    settings.EMBEDDINGS_HEARTBEAT_SECONDS = 0.05
    lecture = captioned_lecture(alice_client, alice)
    embedding_stub.faults = [Fault(429, headers={"Retry-After": "500"})]
    row = embedding_row(lecture)
    job = in_thread(lambda: embedding_process(embedding_id=row.pk))
    wait_until(lambda: embedding_stub.requests == 1, message="the first request")

    Lecture.objects.filter(pk=lecture.pk).delete()

    # Without the stop, the job would wait out the 500 s.
    assert job.result(timeout=60) == "abandoned"
    assert embedding_stub.requests == 1


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_keeps_the_claim_while_a_request_takes_longer_than_the_stale_limit(
    alice, alice_client, embedding_stub, settings
):
    settings.EMBEDDINGS_STALE_SECONDS = 1
    settings.EMBEDDINGS_HEARTBEAT_SECONDS = 0.05
    settings.EMBEDDINGS_TIMEOUT_SECONDS = 30
    lecture = captioned_lecture(alice_client, alice)
    row = embedding_row(lecture)

    def second_delivery_while_the_first_waits():
        started = timezone.now()
        # Beats written past the stale limit: without them the row would look abandoned.
        poll_until(
            lambda: Embedding.objects.filter(
                pk=row.pk, heartbeat_at__gt=started + timedelta(seconds=1.5)
            ).exists(),
            timeout=30,
        )
        try:
            return embedding_process(embedding_id=row.pk)
        finally:
            connection.close()

    second = OnFirstRequest(second_delivery_while_the_first_waits)
    embedding_stub.hold = second

    first = embed(lecture)

    assert (first.outcome, second.result) == ("completed", "skipped")
    assert first.attempt_count == 1
    assert_embedded(lecture)


class OnFirstRequest:
    """A stub's ``hold``: ``call()`` on the first request only, in the stub's thread (its
    own database connection), its result kept."""

    def __init__(self, call):
        self.call = call
        self.result = None
        self._lock = threading.Lock()
        self._done = False

    def __call__(self) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
        try:
            self.result = self.call()
        finally:
            connection.close()
