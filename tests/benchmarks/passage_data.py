"""The semantic benchmark's passages: every passage of the search data set's material
(``search_data``: 11 users, each 200 one-hour lectures and 500 documents of 20 pages), cut by
the service's own cutters (``search.passages.lecture_pieces`` over each lecture's segments,
``page_pieces`` over each page: ~24 000 passages a user, ~266 000 in all), each
with its ``tsvector`` and the vector the test embedding server gives its text
(``tests.search.embedding_stub.lexicon_vector``) in the space of ``MODEL`` and the chosen
size, written straight into ``search_passage``, with one completed ``Embedding`` row per
source.

Cutting and embedding them takes a few minutes of Python (the model is ~0.4 ms a passage,
shared over the CPUs), so the rows are cached under ``var/bench/search/`` as a PostgreSQL
COPY file per size, as ``search_data`` caches its pages and segments. The word index and
the size's HNSW index are dropped during the load; the HNSW index is then built by the
service's own ``search.vectors.prepare_vectors``, timed.
"""

from __future__ import annotations

import itertools
import multiprocessing
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tests.benchmarks.search_data import _cached

VERSION = 1
# The test embedding server's model, as the semantic benchmark configures the service.
MODEL = "lexicon-test"
# Enough memory for the whole HNSW graph of ~235 000 vectors (up to 1,536 dimensions) while
# it is built: past ``maintenance_work_mem`` pgvector goes on on disk, many times slower.
BUILD_MEMORY = "2GB"
# Texts per task of the embedding processes: large enough that sending them costs little.
EMBED_CHUNK = 2000

COLUMNS = (
    'id, lecture_id, document_id, owner_id, index, start, "end", page, text, '
    "search_vector, embedding, embedding_model"
)


def load(cache_dir: Path, config: str, *, dimensions: int, space: str) -> dict[str, float]:
    """The passages of the data set already in the (Django-configured) bench database, from
    the cache or cut and embedded first; then their ``Embedding`` rows and the HNSW index of
    ``dimensions``. Returns how many passages there are and how long each step took."""
    from django.db import connection
    from django.test import override_settings

    from search.vectors import index_name, prepare_vectors

    timings: dict[str, float] = {}
    with connection.cursor() as cursor:
        cursor.execute(f'DROP INDEX IF EXISTS "{index_name(dimensions)}"')
        timings |= _cached(
            cursor,
            cache_dir / f"passages-v{VERSION}-{config}-{MODEL}-{dimensions}.copy",
            "search_passage",
            COLUMNS,
            lambda: _generate(cursor, config, dimensions=dimensions, space=space),
            "passages",
            gin_index="passage_search",
        )
        started = time.perf_counter()
        _embedding_rows(cursor, space)
        cursor.execute("VACUUM ANALYZE search_passage")
        cursor.execute("VACUUM ANALYZE search_embedding")
        timings["passages_analyze_seconds"] = time.perf_counter() - started
        cursor.execute("SELECT count(*) FROM search_passage")
        (count,) = cursor.fetchone()
        started = time.perf_counter()
        cursor.execute(f"SET maintenance_work_mem = '{BUILD_MEMORY}'")
        with override_settings(EMBEDDINGS_DIMENSIONS=dimensions):
            prepare_vectors()
        cursor.execute("RESET maintenance_work_mem")
        timings["hnsw_index_seconds"] = time.perf_counter() - started
        cursor.execute("SELECT pg_relation_size(%s)", [index_name(dimensions)])
        (index_bytes,) = cursor.fetchone()
    return {"passages": count, "hnsw_index_bytes": index_bytes, **timings}


def _generate(cursor, config: str, *, dimensions: int, space: str) -> None:
    """Every source's pieces with their vectors into a temporary table by COPY, then into
    the passages with their ``tsvector`` computed in SQL, as ``core.fulltext.vector_of``
    has the database compute it."""
    cursor.execute(
        "CREATE TEMPORARY TABLE bench_passage (id uuid, lecture_id uuid, document_id uuid, "
        'owner_id uuid, index integer, start double precision, "end" double precision, '
        "page integer, text text, embedding text)"
    )
    rows = list(_rows(cursor))
    with (
        ProcessPoolExecutor(mp_context=multiprocessing.get_context("spawn")) as pool,
        cursor.copy("COPY bench_passage FROM STDIN") as copy,
    ):
        chunks = (
            [row[-1] for row in rows[first : first + EMBED_CHUNK]]
            for first in range(0, len(rows), EMBED_CHUNK)
        )
        done = 0
        for vectors in pool.map(_vector_literals, chunks, itertools.repeat(dimensions)):
            for vector in vectors:
                copy.write_row((*rows[done], vector))
                done += 1
    cursor.execute(
        f"INSERT INTO search_passage ({COLUMNS}) SELECT id, lecture_id, document_id, "  # noqa: S608
        'owner_id, index, start, "end", page, text, '
        "to_tsvector(%s::regconfig, translate(text, '<>', chr(14) || chr(15))), "
        "embedding::vector, %s FROM bench_passage",
        [config, space],
    )
    cursor.execute("DROP TABLE bench_passage")


def _rows(cursor) -> Iterator[tuple]:
    """``(id, lecture_id, document_id, owner_id, index, start, end, page, text)`` of every
    passage, cut by the service's cutters from the segments and pages in the database."""
    from search.passages import TimedText, lecture_pieces, page_pieces

    ids = _ids()
    segments: list[TimedText] = []
    lecture_id = None
    with cursor.copy(
        'COPY (SELECT lecture_id, start, "end", text FROM transcripts_transcriptsegment '
        "ORDER BY lecture_id, index) TO STDOUT"
    ) as copy:
        copy.set_types(["uuid", "float8", "float8", "text"])
        lectures = []
        for lecture, start, end, text in copy.rows():
            if lecture != lecture_id:
                if segments:
                    lectures.append((lecture_id, segments))
                lecture_id, segments = lecture, []
            segments.append(TimedText(start, end, text))
        if segments:
            lectures.append((lecture_id, segments))
    for lecture, timed in lectures:
        for index, piece in enumerate(lecture_pieces(timed)):
            yield (next(ids), lecture, None, None, index, piece.start, piece.end, None, piece.text)
    with cursor.copy(
        "COPY (SELECT document_id, owner_id, number, text FROM documents_documentpage "
        "ORDER BY document_id, number) TO STDOUT"
    ) as copy:
        copy.set_types(["uuid", "uuid", "int4", "text"])
        pages = list(copy.rows())
    index, document_id = 0, None
    for document, owner, number, text in pages:
        if document != document_id:
            index, document_id = 0, document
        for piece in page_pieces(number, text):
            yield (next(ids), None, document, owner, index, None, None, piece.page, piece.text)
            index += 1


def _ids() -> Iterator[uuid.UUID]:
    import random

    rng = random.Random(13)
    while True:
        yield uuid.UUID(int=rng.getrandbits(128), version=4)


def _vector_literals(texts: list[str], dimensions: int) -> list[str]:
    """pgvector's text form of each text's vector (run in the embedding processes)."""
    from tests.search.embedding_stub import lexicon_vector

    def literal(vector: list[float]) -> str:
        return "[" + ",".join("0" if x == 0 else f"{x:.7g}" for x in vector) + "]"

    return [literal(lexicon_vector(text, dimensions)) for text in texts]


def _embedding_rows(cursor, space: str) -> None:
    """One completed ``Embedding`` row per source, as the job leaves it."""
    for column in ("lecture_id", "document_id"):
        cursor.execute(
            f"INSERT INTO search_embedding (id, {column}, status, progress, error_message, "  # noqa: S608
            "attempt_count, completed_at, model, passage_count, embedded_count, created_at, "
            "updated_at) SELECT gen_random_uuid(), source, 'completed', 100, '', 1, now(), %s, "
            "n, n, now(), now() FROM (SELECT "
            f"{column} AS source, count(*) AS n FROM search_passage WHERE {column} IS NOT NULL "
            "GROUP BY 1) AS counts",
            [space],
        )
