"""Searches over passages (``search.models.Passage``): by meaning (``semantic``), and by
words and meaning at once (``hybrid``).

Two ranked lists of the caller's passages, each cut at ``CANDIDATES`` (the meaning list at
``NEAREST`` when it is the answer alone):

- *words*: the passages whose ``search_vector`` matches the query read like a web search box
  (``core.fulltext.search_query``: the same parsing as word search), by ``ts_rank``;
- *meaning*: the passages nearest to the query's vector (cosine distance, the HNSW index of
  the configured size), among the vectors of the configured space only.

``semantic`` is the second list, ranked by cosine similarity; ``hybrid`` fuses both by
reciprocal rank fusion: a passage scores ``1 / (RRF_K + place)`` in each list it is in
(places from 1), summed. Equal scores go to the newer source (its ``created_at``), then by
passage id, so that pages never overlap. Either is one SQL statement (after the two
``SET LOCAL``s of the index scan): the candidates, the fused list's size, one page of it
with the sources' titles and courses, and ``ts_headline`` snippets of that page's passages
only.

Whose passages: lecture passages of the lectures linked to the caller and document
passages the caller owns (``Passage.owner``), inside each list's own ``WHERE``, with the
``course_id`` and ``type`` filters, so a passage the caller may not see is never a
candidate.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

from core.fulltext import for_parser
from search.provider import embeddings_settings
from search.snippets import headline_sql
from search.vectors import distance_sql

# Each list is cut here: the HNSW scan and the ranking of a common word's matches stay
# bounded however much material a student has. Deeper places add under 1/160 to a score
# and say little about relevance; nobody pages that far. The fused list (whose size is the
# answer's ``count``) is at most twice this long.
CANDIDATES = 100
# ``semantic`` answers the nearest passages alone, without fusion's need for depth: fewer,
# because the HNSW walk reads about as many rows for each one it keeps as there are students
# of the caller's size. At the benchmark's scale (a caller's 24 197 of 266 167 passages, 256
# dimensions, 12 queries x 3, an idle machine) the statement took 44.9 ms (median) with 100
# and 24.4 ms with 50; the request's p95 is 41.6 ms against its 60 ms target in the whole
# bench run of docs/performance.md.
NEAREST = 50
# Reciprocal rank fusion's constant (Cormack, Clarke and Büttcher, SIGIR 2009): it damps the
# weight of the first places, so a passage both lists rank well beats the top of one.
RRF_K = 60
# The HNSW scan's candidate list: at least the rows wanted (pgvector's default, 40, would
# return at most 40). strict_order iterative scanning (pgvector 0.8) goes on, in order of
# distance, past the rows the caller's filter drops, so another student's passages do not
# crowd the caller's out.
EF_SEARCH = 100

# The columns of a page's rows, named as ``search.selectors`` names a hit's.
COLUMNS = (
    "hit_type",
    "hit_id",
    "hit_course_id",
    "hit_title",
    "hit_start",
    "hit_end",
    "hit_page",
    "hit_rank",
    "headline",
)


@dataclass(frozen=True)
class Sql:
    """A piece of a statement and its parameters, in the order of its placeholders."""

    text: str
    params: Sequence[object] = ()

    def __add__(self, other: Sql) -> Sql:
        return Sql(self.text + other.text, (*self.params, *other.params))

    @classmethod
    def joined(cls, parts: list[Sql], separator: str) -> Sql:
        return cls(separator.join(p.text for p in parts), [x for p in parts for x in p.params])


# The index scan's settings, as one statement; both end with the transaction.
SET_LOCAL_SCAN = Sql(
    "SELECT set_config('hnsw.ef_search', %s, true), "
    "set_config('hnsw.iterative_scan', 'strict_order', true)",
    (str(EF_SEARCH),),
)


@dataclass(frozen=True)
class PassageQuery:
    """One search over passages: whose, what, and which list (``fused``: words and
    meaning; otherwise meaning alone)."""

    user_id: uuid.UUID
    q: str
    vector: list[float]
    fused: bool
    course_id: uuid.UUID | None = None
    kind: str | None = None
    # Only these sources, as ``search.sources.Query``'s.
    lecture_ids: tuple[uuid.UUID, ...] | None = None
    document_ids: tuple[uuid.UUID, ...] | None = None


def passage_page(*, query: PassageQuery, limit: int, offset: int) -> tuple[int, list[dict]]:
    """The size of the ranked list and ``limit`` of its rows from ``offset``, best first,
    as ``COLUMNS`` (``headline``: ``ts_headline``'s marked text, which
    ``search.snippets.html_snippet`` makes a snippet)."""
    statement = passage_statement(query=query, limit=limit, offset=offset)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(SET_LOCAL_SCAN.text, SET_LOCAL_SCAN.params)
        cursor.execute(statement.text, statement.params)
        rows = cursor.fetchall()
    # The first column is the size; the one row of a page past the end has no passage.
    return rows[0][0], [dict(zip(COLUMNS, row[1:], strict=True)) for row in rows if row[1]]


def passage_statement(*, query: PassageQuery, limit: int, offset: int) -> Sql:
    """``passage_page``'s statement, to run after ``SET_LOCAL_SCAN`` in one transaction (apart,
    so that it can be EXPLAINed)."""
    mine = _mine(query)
    lists = [_by_meaning(query.vector, mine, CANDIDATES if query.fused else NEAREST)]
    if query.fused:
        lists.insert(0, _by_words(query.q, mine))
        ranked = Sql(
            "fused AS (SELECT COALESCE(words.id, meaning.id) AS id, "
            "COALESCE(1.0::float8 / (%s + words.place), 0) "
            "+ COALESCE(1.0::float8 / (%s + meaning.place), 0) AS score "
            "FROM words FULL JOIN meaning ON meaning.id = words.id)",
            (RRF_K, RRF_K),
        )
    else:
        ranked = Sql("fused AS (SELECT id, similarity AS score FROM meaning)")
    return (
        Sql("WITH ")
        + Sql.joined([*lists, ranked], ", ")
        + _page(query.q, limit=limit, offset=offset)
    )


def _mine(query: PassageQuery) -> Sql:
    """The condition on ``p`` (a passage) that it is the caller's, of that course and kind.

    Each side's ids are an array computed once per statement (an InitPlan), so the condition
    is a plain filter on each passage read, which the HNSW scan applies as it goes; a join
    would lose the index's order.
    """
    sides: list[Sql] = []
    narrowed = query.lecture_ids is not None or query.document_ids is not None
    if query.kind in (None, "lecture"):
        if query.course_id is None:
            lectures = Sql(
                "SELECT lecture_id FROM lectures_lecturelink WHERE user_id = %s",
                (query.user_id,),
            )
        else:
            lectures = Sql(
                "SELECT link.lecture_id FROM lectures_lecturelink link "
                "JOIN lectures_lecture lecture ON lecture.id = link.lecture_id "
                "WHERE link.user_id = %s AND lecture.course_id = %s",
                (query.user_id, query.course_id),
            )
        side = Sql("p.lecture_id = ANY(ARRAY(") + lectures + Sql("))")
        if narrowed:
            side += Sql(" AND p.lecture_id = ANY(%s::uuid[])", (list(query.lecture_ids or ()),))
        sides.append(side)
    if query.kind in (None, "document"):
        documents = Sql("p.owner_id = %s", (query.user_id,))
        if query.course_id is not None:
            documents += Sql(
                " AND p.document_id = ANY(ARRAY(SELECT id FROM documents_document "
                "WHERE owner_id = %s AND course_id = %s))",
                (query.user_id, query.course_id),
            )
        if narrowed:
            documents += Sql(
                " AND p.document_id = ANY(%s::uuid[])", (list(query.document_ids or ()),)
            )
        sides.append(Sql("(") + documents + Sql(")"))
    return Sql("(") + Sql.joined(sides, " OR ") + Sql(")")


def _by_words(q: str, mine: Sql) -> Sql:
    """``words(id, place)``: the best matches of ``q``'s words, ranked as word search
    ranks them."""
    tsquery = Sql(
        "websearch_to_tsquery(%s::regconfig, %s)", (settings.SEARCH_CONFIG, for_parser(q))
    )
    return (
        Sql("words AS (SELECT id, row_number() OVER (ORDER BY rank DESC, id) AS place FROM (")
        + Sql("SELECT p.id, ts_rank(p.search_vector, ")
        + tsquery
        + Sql(") AS rank FROM search_passage p WHERE p.search_vector @@ ")
        + tsquery
        + Sql(" AND ")
        + mine
        + Sql(" ORDER BY rank DESC, p.id LIMIT %s) AS best)", (CANDIDATES,))
    )


def _by_meaning(vector: list[float], mine: Sql, limit: int) -> Sql:
    """``meaning(id, place, similarity)``: the ``limit`` passages nearest to ``vector`` among
    those of the configured space.

    The inner query orders by the distance alone, in the expressions of the size's HNSW
    index (``search.vectors.distance_sql``; any other expression and the index is not
    used). Seen with ``EXPLAIN ANALYZE`` on 4,920 passages of 1,536 dimensions of 12
    students (pgvector 0.8.6, PostgreSQL 15): for a caller with 2,000 or 1,000 of them,
    ``Limit -> Index Scan using passage_embedding_1536``, ``Order By: (embedding)::
    vector(1536) <=> …``, the space and the caller's condition as the scan's ``Filter``
    (140 and 464 rows of others removed), 100 rows, 14-19 ms in all; for a caller with 20
    or 50, the planner reads their rows by ``owner_id`` (a bitmap scan) and sorts them by
    distance instead, exact, in about 1 ms.
    """
    where, distance = distance_sql(int(settings.EMBEDDINGS_DIMENSIONS))
    literal = "[" + ",".join(repr(float(x)) for x in vector) + "]"
    return (
        Sql(
            "meaning AS (SELECT id, row_number() OVER (ORDER BY distance, id) AS place, "
            "1 - distance AS similarity FROM (SELECT p.id, "
        )
        + Sql(distance, (literal,))
        + Sql(" AS distance FROM search_passage p WHERE ")
        + Sql(where)
        + Sql(" AND p.embedding_model = %s AND ", (embeddings_settings().space,))
        + mine
        + Sql(" ORDER BY distance LIMIT %s) AS nearest)", (limit,))
    )


def _page(q: str, *, limit: int, offset: int) -> Sql:
    """The fused list's size, and one page of it with its sources and snippets: always one
    row at least (the size, without a passage when the page is past the end)."""
    return (
        Sql(
            " SELECT total.count, page.hit_type, page.hit_id, page.hit_course_id, "
            "page.hit_title, page.hit_start, page.hit_end, page.hit_page, page.score, "
        )
        + Sql(*headline_sql("page.text", q))
        + Sql(
            " FROM (SELECT count(*) AS count FROM fused) AS total LEFT JOIN LATERAL ("
            "SELECT fused.id, fused.score, p.text, "
            "CASE WHEN p.lecture_id IS NULL THEN 'document' ELSE 'lecture' END AS hit_type, "
            "COALESCE(p.lecture_id, p.document_id) AS hit_id, "
            "COALESCE(lecture.course_id, document.course_id) AS hit_course_id, "
            "COALESCE(lecture.title, document.original_filename) AS hit_title, "
            'p.start AS hit_start, p."end" AS hit_end, p.page AS hit_page, '
            "COALESCE(lecture.created_at, document.created_at) AS created_at "
            "FROM fused JOIN search_passage p ON p.id = fused.id "
            "LEFT JOIN lectures_lecture lecture ON lecture.id = p.lecture_id "
            "LEFT JOIN documents_document document ON document.id = p.document_id "
            "ORDER BY fused.score DESC, created_at DESC, fused.id "
            "LIMIT %s OFFSET %s) AS page ON true "
            "ORDER BY page.score DESC, page.created_at DESC, page.id",
            (limit, offset),
        )
    )
