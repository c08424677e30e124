"""``GET /api/search`` by meaning (``mode=semantic``, and ``hybrid`` where it shares the
behaviour): passages found by the query's embedding from the stub provider on loopback, the
caller's own only, the text that is there now only; one provider request per search,
briefly cached; a provider that fails, or no vectors at all, answers by words."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.storage import storage_delete, storage_save
from documents.jobs import document_extract_text
from documents.services import document_text_requeue
from search.models import Passage
from search.passage_search import NEAREST
from tests.documents import pdfs
from tests.documents.text_helpers import extracted
from tests.factories import EnrollmentFactory, UserFactory
from tests.private_servers import PrivateRedis
from tests.search.embedding_stub import API_KEY, DIMENSIONS, Fault, lexicon_vector
from tests.search.material import (
    captioned_lecture,
    embed_passages,
    put_captions,
    run_on_sqlite,
    search,
)

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent.parent
# Shares no word with the lecture below; the test lexicon relates "energy" and "ATP".
PARAPHRASE = "how do cells make energy"
MODES = ["text", "semantic", "hybrid"]


@pytest.fixture(autouse=True)
def _no_query_vector_cached():
    """Each test asks the provider itself: no query's vector is left from another test."""
    cache.clear()


@pytest.fixture
def biology(alice, alice_client, embeddings_on):
    """Alice's course: a lecture that says mitochondria produce ATP, and notes on sorting;
    every passage embedded."""
    course = EnrollmentFactory(user=alice).course
    lecture = captioned_lecture(
        alice_client, alice, "Mitochondria produce ATP.", course=course, title="Week 2"
    )
    extracted(alice, pdfs.text_pdf("Sorting arrays with quicksort."), course=course)
    embed_passages()
    return lecture


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))  # the model's vectors are unit


# --- Found by meaning ----------------------------------------------------------------------


def test_a_paraphrase_finds_the_lecture_passage_with_its_seconds(alice_client, biology):
    body = search(alice_client, PARAPHRASE, mode="semantic")

    assert body["mode"] == "semantic"
    assert "degraded" not in body
    assert body["results"][0] == {
        "type": "lecture",
        "id": str(biology.id),
        "course_id": str(biology.course_id),
        "title": "Week 2",
        "start": 0.0,
        "end": 1.0,
        "page": None,
        "snippet": "Mitochondria produce ATP.",  # no word of the query in it: no <mark>
        "rank": pytest.approx(
            cosine(lexicon_vector(PARAPHRASE), lexicon_vector("Mitochondria produce ATP.")),
            rel=1e-5,
        ),
    }
    assert body["results"][0]["rank"] > body["results"][1]["rank"]


@pytest.mark.parametrize(("mode", "found"), [("text", False), ("semantic", True), ("hybrid", True)])
def test_a_paraphrase_sharing_no_word_is_found_by_meaning_not_by_words(
    alice_client, biology, mode, found
):
    body = search(alice_client, PARAPHRASE, mode=mode)

    assert body["mode"] == mode
    first = body["results"][0]["id"] if body["results"] else None
    assert (first == str(biology.id)) is found


def test_matched_words_are_marked_in_a_passage_found_by_meaning(alice_client, biology):
    snippet = search(alice_client, "mitochondria energy", mode="semantic")["results"][0]["snippet"]

    assert snippet == "<mark>Mitochondria</mark> produce ATP."


# --- Which mode runs -----------------------------------------------------------------------


def test_without_a_mode_the_search_is_hybrid_when_embeddings_are_on(alice_client, biology):
    assert search(alice_client, PARAPHRASE)["mode"] == "hybrid"


@pytest.mark.parametrize("mode", [None, *MODES])
def test_with_embeddings_off_every_mode_is_text_and_not_degraded(alice_client, alice, mode):
    extracted(alice, pdfs.text_pdf("Mitochondria produce ATP."))

    body = search(alice_client, "mitochondria", **({"mode": mode} if mode else {}))

    assert body["mode"] == "text"
    assert "degraded" not in body
    assert [hit["snippet"] for hit in body["results"]] == ["<mark>Mitochondria</mark> produce ATP."]


SQLITE_SCRIPT = """
import json
import django
django.setup()
from django.conf import settings
from django.core.management import call_command
call_command("migrate", verbosity=0)
from accounts.models import User
from courses.models import Course
from documents.models import Document, DocumentPage, DocumentText
from search.selectors import search_material
alice = User.objects.create(username="alice", clerk_id="user_alice")
course = Course.objects.create(code="CSC 171", title="Intro")
doc = Document.objects.create(
    owner=alice, course=course, original_filename="alice.pdf", size_bytes=1,
    sha256="0" * 64, storage_key="documents/alice.pdf",
)
DocumentText.objects.filter(document=doc).update(status="completed", page_count=1)
DocumentPage.objects.create(document=doc, owner=alice, number=1, text="Sorting arrays")
# Embeddings on, with a provider that is not there: asking it would degrade the answer.
settings.EMBEDDINGS_BACKEND = "openai"
settings.EMBEDDINGS_BASE_URL = "http://127.0.0.1:9/v1"
answers = {}
for mode in (None, "text", "semantic", "hybrid"):
    found = search_material(user=alice, q="arrays", mode=mode, limit=20, offset=0)
    answers[str(mode)] = [found.mode, found.degraded, found.count]
print(json.dumps(answers))
"""


def test_on_sqlite_every_mode_is_text_and_not_degraded(tmp_path):
    assert run_on_sqlite(SQLITE_SCRIPT, tmp_path) == {
        mode: ["text", False, 1] for mode in ("None", "text", "semantic", "hybrid")
    }


# --- Whose material ------------------------------------------------------------------------


@pytest.fixture
def bobs_twins(bob, bob_client, biology):
    """Bob has Alice's very words: a lecture and a document in Alice's course (Bob enrolled
    too), and a document in a course of his own; all embedded."""
    EnrollmentFactory(user=bob, course=biology.course)
    captioned_lecture(bob_client, bob, "Mitochondria produce ATP.", course=biology.course)
    extracted(bob, pdfs.text_pdf("Mitochondria produce ATP."), course=biology.course)
    own = extracted(bob, pdfs.text_pdf("Mitochondria produce ATP. Sorting arrays."))
    embed_passages()
    return own.course


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "params",
    [{}, {"type": "lecture"}, {"type": "document"}, {"course_id": "shared"}, {"limit": 100}],
    ids=["no filter", "lectures", "documents", "shared course", "big page"],
)
def test_another_users_material_is_never_returned(
    alice_client, alice, biology, bobs_twins, mode, params
):
    if params.get("course_id") == "shared":
        params = {"course_id": str(biology.course_id)}
    alices = {str(biology.id), *(str(d.id) for d in alice.documents.all())}

    for q in (PARAPHRASE, "mitochondria produce ATP", "sorting arrays"):
        body = search(alice_client, q, mode=mode, **params)

        assert {hit["id"] for hit in body["results"]} <= alices
        assert body["count"] == len(body["results"])
        if "type" in params:
            assert {hit["type"] for hit in body["results"]} <= {params["type"]}


@pytest.mark.parametrize("mode", MODES)
def test_filtering_on_another_users_course_finds_nothing(alice_client, bobs_twins, mode):
    for q in (PARAPHRASE, "mitochondria"):
        assert search(alice_client, q, mode=mode, course_id=str(bobs_twins.id))["count"] == 0


def test_vectors_of_another_model_are_never_compared(alice_client, biology):
    Passage.objects.update(embedding_model=f"another-model/{DIMENSIONS}")

    assert search(alice_client, PARAPHRASE, mode="semantic")["count"] == 0
    assert search(alice_client, "mitochondria", mode="hybrid")["count"] == 1  # by words


# --- Only the text that is there now ------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_replaced_captions_are_found_by_their_new_words_only(client_for, embeddings_on, mode):
    admin = UserFactory(is_staff=True)  # only an API admin may replace a completed transcript
    client = client_for(admin)
    course = EnrollmentFactory(user=admin).course
    lecture = captioned_lecture(client, admin, "Gaussian elimination of a matrix.", course=course)
    embed_passages()
    put_captions(client, lecture, "Fourier transforms of a signal.")
    embed_passages()

    for hit in search(client, "gaussian elimination", mode=mode)["results"]:
        assert "Gaussian" not in hit["snippet"]
    first = search(client, "fourier transform", mode=mode)["results"][0]
    assert first["snippet"] == "<mark>Fourier</mark> <mark>transforms</mark> of a signal."


def test_replaced_captions_are_not_found_by_their_old_vectors(client_for, embeddings_on):
    admin = UserFactory(is_staff=True)
    client = client_for(admin)
    lecture = captioned_lecture(
        client, admin, "Gaussian elimination.", course=EnrollmentFactory(user=admin).course
    )
    embed_passages()

    put_captions(client, lecture, "Fourier transforms.")  # its passages not embedded yet

    assert search(client, "gaussian elimination", mode="semantic")["count"] == 0


@pytest.mark.parametrize("mode", MODES)
def test_re_extracted_text_is_found_by_its_new_words_only(alice, alice_client, embeddings_on, mode):
    document = extracted(alice, pdfs.text_pdf("The quokka is a small marsupial."))
    embed_passages()
    storage_delete(document.storage_key)
    storage_save(document.storage_key, io.BytesIO(pdfs.text_pdf("The platypus lays eggs.")))
    assert document_text_requeue(document_id=document.id, enqueue=False)
    document_extract_text(document_id=document.id)
    embed_passages()

    for hit in search(alice_client, "quokka marsupial", mode=mode)["results"]:
        assert "quokka" not in hit["snippet"]
    first = search(alice_client, "platypus", mode=mode)["results"][0]
    assert (first["id"], first["snippet"]) == (
        str(document.id),
        "The <mark>platypus</mark> lays eggs.",
    )


# --- The provider: one request, cached; a failure answers by words ------------------------


def test_a_search_sends_one_request_with_the_query(alice_client, biology, embeddings_on):
    embeddings_on.received.clear()

    search(alice_client, "  how do   cells make energy ")

    assert [(r["model"], r["input"]) for r in embeddings_on.received] == [
        ("lexicon-test", [PARAPHRASE])
    ]


def test_a_repeated_search_is_served_from_the_cache(alice_client, biology, embeddings_on):
    embeddings_on.received.clear()
    first = search(alice_client, PARAPHRASE, limit=1)

    again = search(alice_client, PARAPHRASE, limit=1)
    next_page = search(alice_client, f"  {PARAPHRASE} ", mode="semantic", limit=1, offset=1)

    assert len(embeddings_on.received) == 1
    assert again == first
    assert next_page["results"][0]["id"] != first["results"][0]["id"]
    search(alice_client, "sorting arrays")
    assert len(embeddings_on.received) == 2


@pytest.fixture
def redis_cache(settings) -> Iterator[PrivateRedis]:
    """Django's cache on a Redis of this test's own, to stop."""
    server = PrivateRedis()
    server.start()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": server.url(),
        }
    }
    yield server
    server.remove()


def test_a_search_by_meaning_answers_while_the_caches_redis_is_down(
    alice_client, biology, embeddings_on, redis_cache
):
    cached = search(alice_client, PARAPHRASE, mode="semantic")
    redis_cache.stop()
    embeddings_on.received.clear()

    body = search(alice_client, PARAPHRASE, mode="semantic")
    again = search(alice_client, PARAPHRASE, mode="semantic")

    assert body == again == cached
    # Nothing can be kept: each search asks the provider.
    assert len(embeddings_on.received) == 2


FAULTS = {
    "HTTP 500": Fault(status=500),
    "dropped connection": Fault(status=0, drop=True),
}


@pytest.fixture
def words_only(alice_client, biology) -> dict:
    """What word search answers for "mitochondria ATP"."""
    body = search(alice_client, "mitochondria ATP", mode="text")
    assert body["count"] == 1
    return body


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_failing_provider_degrades_the_search_to_words(
    alice_client, embeddings_on, words_only, caplog, mode, fault
):
    embeddings_on.faults.append(FAULTS[fault])
    caplog.set_level(logging.WARNING, logger="studybuddy")

    body = search(alice_client, "mitochondria ATP", mode=mode)

    assert body == {**words_only, "degraded": True}
    assert embeddings_on.requests == 1  # one attempt, no retry
    [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning.name == "studybuddy.search"
    assert API_KEY not in warning.getMessage()


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
def test_a_provider_stalling_past_the_timeout_degrades_the_search_to_words(
    alice_client, embeddings_on, words_only, settings, mode
):
    settings.EMBEDDINGS_TIMEOUT_SECONDS = 0.2  # below the search's own 5 s, so it applies
    release = threading.Event()
    embeddings_on.hold = lambda: release.wait(30)
    try:
        body = search(alice_client, "mitochondria ATP", mode=mode)
    finally:
        release.set()

    assert body == {**words_only, "degraded": True}
    assert embeddings_on.requests == 1


def test_a_failure_is_not_cached(alice_client, embeddings_on, biology):
    embeddings_on.faults.append(Fault(status=500))
    assert search(alice_client, PARAPHRASE)["degraded"] is True

    body = search(alice_client, PARAPHRASE)

    assert (body["mode"], "degraded" in body) == ("hybrid", False)
    assert body["results"][0]["id"] == str(biology.id)


def test_semantic_answers_the_nearest_passages_and_hybrid_fuses_deeper_lists(
    alice_client, alice, biology
):
    extracted(alice, pdfs.text_pdf(*[f"energy lemma {n}" for n in range(NEAREST + 10)]))
    embed_passages()

    semantic = search(alice_client, "energy lemma", mode="semantic", limit=100)
    hybrid = search(alice_client, "energy lemma", mode="hybrid", limit=100)

    assert semantic["count"] == len(semantic["results"]) == NEAREST
    ranks = [hit["rank"] for hit in semantic["results"]]
    assert ranks == sorted(ranks, reverse=True)
    # Every one of Alice's passages: the pages, the lecture's and the notes'.
    assert hybrid["count"] == len(hybrid["results"]) == NEAREST + 12


# --- Queries ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
def test_the_number_of_queries_does_not_grow_with_the_passages(alice_client, alice, biology, mode):
    def queries(q: str) -> int:
        search(alice_client, q, mode=mode)  # the query's vector, cached
        with CaptureQueriesContext(connection) as captured:
            search(alice_client, q, mode=mode, limit=100)
        return len(captured)

    few = queries(PARAPHRASE)
    extracted(alice, pdfs.text_pdf(*[f"energy lemma {n}" for n in range(60)]))
    embed_passages()
    many = queries("energy lemma")

    # The caller's row, then a savepoint (the transaction, outside a test), the index scan's
    # settings, the one statement and the savepoint's release. (The database cache of
    # production adds its read of the query's vector.)
    assert few == many == 5
