"""The search benchmark's data set (SPEC 10): 11 users, each with 500 documents of 20 pages
(10 000 pages a user, 110 000 in all), written straight into the bench database.

Page texts are drawn from a Zipf-like vocabulary: English stop words at the top, then
course words (``TOPIC_WORDS``) spread through the ranks among generated words, ~150 words a
page. Generating the texts and their vectors takes about a minute, so the pages (text and
``tsvector``) are cached under ``var/bench/search/`` as a PostgreSQL COPY file and loaded
with COPY in the runs after (seconds); users, courses and documents (a few thousand rows)
are inserted each run with the same ids.
"""

from __future__ import annotations

import itertools
import random
import uuid
from pathlib import Path

USERS = 11
DOCUMENTS_PER_USER = 500
PAGES_PER_DOCUMENT = 20
WORDS_PER_PAGE = 150
VERSION = 2


def _words(text: str) -> list[str]:
    return text.split()


STOP_WORDS = _words(
    "the of and a to in is that for it as with was on be by this are or an at from which "
    "we can its not have has but these if one more than when there also so each all"
)
TOPIC_WORDS = _words(
    "matrix vector array eigenvalue determinant integral derivative theorem proof lemma "
    "recursion tree graph binary search sorting algorithm complexity polynomial function "
    "limit series converge probability distribution variance entropy network protocol "
    "compiler parser grammar automaton memory cache process thread kernel scheduling "
    "database index transaction query optimization gradient descent regression classifier "
    "neural layer activation energy momentum velocity acceleration force field charge "
    "circuit voltage resistance capacitor frequency signal transform fourier laplace "
    "equation differential linear nonlinear stability equilibrium reaction molecule "
    "protein enzyme cell membrane evolution population ecology market demand supply price"
)
SYLLABLES = _words("ka lo mi nu pe ra si to vu ze bar den fil gor han jut kel mon nep rus tal vin")


def _vocabulary(rng: random.Random) -> list[str]:
    generated = {
        "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(40_000)
    }
    words = sorted(generated)
    rng.shuffle(words)
    # Course words at ranks 60, 80, 100, … : common enough to match many pages.
    for position, word in enumerate(TOPIC_WORDS):
        words.insert(60 + 20 * position, word)
    return STOP_WORDS + words


def _cumulative_weights(count: int) -> list[float]:
    return list(itertools.accumulate(1.0 / (rank + 2) for rank in range(count)))


def rare_word() -> str:
    """A generated word that occurs on a handful of pages of the set."""
    vocabulary = _vocabulary(random.Random(12))
    return vocabulary[len(vocabulary) // 3]


def user_ids() -> list[str]:
    return [f"user_bench_search_{n:02d}" for n in range(USERS)]


def user_uuids() -> list[uuid.UUID]:
    """The users' primary keys, the same every run (the cached pages name their owner)."""
    rng = random.Random(5)
    return [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(USERS)]


def document_ids() -> list[list[uuid.UUID]]:
    """Each user's document ids, the same every run."""
    rng = random.Random(7)
    return [
        [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(DOCUMENTS_PER_USER)]
        for _ in range(USERS)
    ]


def _page_texts(rng: random.Random, count: int):
    vocabulary = _vocabulary(random.Random(12))
    weights = _cumulative_weights(len(vocabulary))
    for _ in range(count):
        words = rng.choices(vocabulary, cum_weights=weights, k=WORDS_PER_PAGE)
        lines = [" ".join(words[i : i + 12]) for i in range(0, WORDS_PER_PAGE, 12)]
        yield ".\n".join(line.capitalize() for line in lines) + "."


def load(cache_dir: Path, config: str) -> dict[str, object]:
    """Users, courses and documents into the (Django-configured) bench database, then the
    pages from the cache, generating the cache first when it is not there. Returns the
    users' Clerk ids and how long each step took."""
    import time

    from django.db import connection

    from accounts.models import User
    from courses.models import Course, Enrollment
    from documents.models import Document, TextStatus

    timings: dict[str, float] = {}
    started = time.perf_counter()
    documents = []
    owners = zip(user_ids(), user_uuids(), document_ids(), strict=True)
    for user_number, (clerk_id, user_id, ids) in enumerate(owners):
        user = User.objects.create(
            id=user_id, username=str(user_id), clerk_id=clerk_id, email=f"{clerk_id}@example.com"
        )
        course = Course.objects.create(code=f"SRCH {100 + user_number}", title="Search bench")
        Enrollment.objects.create(user=user, course=course)
        documents += [
            Document(
                id=document_id,
                owner=user,
                course=course,
                original_filename=f"notes-{number}.pdf",
                size_bytes=100_000,
                sha256=uuid.UUID(int=document_id.int).hex * 2,
                storage_key=f"documents/{document_id}.pdf",
                text_status=TextStatus.COMPLETED,
                page_count=PAGES_PER_DOCUMENT,
            )
            for number, document_id in enumerate(ids)
        ]
    Document.objects.bulk_create(documents, batch_size=2000)
    timings["documents_seconds"] = time.perf_counter() - started

    cache = cache_dir / f"pages-v{VERSION}-{config}.copy"
    columns = "document_id, owner_id, number, text, search_vector"
    with connection.cursor() as cursor:
        if not cache.exists():
            started = time.perf_counter()
            _generate(cursor, [(d.id, d.owner_id) for d in documents], config)
            cache_dir.mkdir(parents=True, exist_ok=True)
            partial = cache.with_suffix(".partial")
            with (
                partial.open("wb") as out,
                cursor.copy(f"COPY documents_documentpage ({columns}) TO STDOUT") as copy,
            ):
                for data in copy:
                    out.write(data)
            partial.rename(cache)
            timings["generate_seconds"] = time.perf_counter() - started
        else:
            started = time.perf_counter()
            with (
                cache.open("rb") as source,
                cursor.copy(f"COPY documents_documentpage ({columns}) FROM STDIN") as copy,
            ):
                while chunk := source.read(1024 * 1024):
                    copy.write(chunk)
            timings["load_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        cursor.execute("ANALYZE documents_document")
        cursor.execute("ANALYZE documents_documentpage")
        timings["analyze_seconds"] = time.perf_counter() - started
    return {"users": user_ids(), **timings}


def _generate(cursor, documents: list[tuple[uuid.UUID, uuid.UUID]], config: str) -> None:
    """Texts into the table by COPY, then every vector in one UPDATE (as the job would
    write them: ``to_tsvector`` of the text)."""
    rng = random.Random(3)
    texts = _page_texts(rng, len(documents) * PAGES_PER_DOCUMENT)
    columns = "document_id, owner_id, number, text"
    with cursor.copy(f"COPY documents_documentpage ({columns}) FROM STDIN") as copy:
        for document_id, owner_id in documents:
            for number in range(1, PAGES_PER_DOCUMENT + 1):
                copy.write_row((document_id, owner_id, number, next(texts)))
    cursor.execute(
        "UPDATE documents_documentpage SET search_vector = to_tsvector(%s::regconfig, text)",
        [config],
    )


QUERIES = (
    "matrix",
    "eigenvalue determinant",
    '"binary search"',
    "integral -derivative",
    "vector or array",
    "theorem proof lemma",
    "converging series",
    "Arrays",
    "{rare}",
    "neural network gradient",
)


def queries() -> list[str]:
    rare = rare_word()
    return [query.replace("{rare}", rare) for query in QUERIES]
