"""The search: every source of the caller's material in one ranked list.

Three modes (``search_material``'s ``mode``): ``text``, word search over transcript
segments and document pages, below; ``semantic`` and ``hybrid``, over passages by meaning
and by words and meaning fused (``search.passage_search``), when embeddings are on
(``EMBEDDINGS_BACKEND=openai`` and pgvector). Without them every mode is ``text``: that is
the configuration, not a fault. When the query's embedding fails (``search.query_embedding``:
one short request), a ``semantic`` or ``hybrid`` search answers as ``text``, ``degraded``.

Word search: each source (``search.sources``) selects only the caller's own rows and gives
the same columns; the sources are combined with ``UNION ALL``, ordered by rank (then by
kind, id and place, so pages of results do not overlap) and cut with ``LIMIT``/``OFFSET``.

On PostgreSQL that is one query, whatever the number of sources or matches: the total comes
with the page's rows (``COUNT(*) OVER ()``, computed before the cut: the matches are all
ranked for the ordering anyway), and the snippets are made by ``ts_headline`` around the
page's rows only (it parses the whole text, so never for every match). Only a page past the
end (no rows, ``offset`` > 0) costs a second query, for the total. Without full-text search
(SQLite) the ORM runs the count and the page: two queries.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from functools import partial

from django.db import connection
from django.db.models import QuerySet

from accounts.models import User
from core.fulltext import (
    full_text_available,
    search_query,
)
from core.providers import ProviderError
from search.passage_search import PassageQuery, passage_page
from search.query_embedding import query_embedding
from search.services import embeddings_enabled
from search.snippets import headline_sql, html_snippet, plain_snippet, plain_terms
from search.sources import COLUMNS, SOURCES, Query

logger = logging.getLogger("studybuddy.search")

TEXT = "text"
SEMANTIC = "semantic"
HYBRID = "hybrid"
MODES = (TEXT, SEMANTIC, HYBRID)

ORDER = ("-hit_rank", "hit_type", "hit_id", "hit_page", "hit_start")


@dataclass(frozen=True)
class Hit:
    type: str
    id: uuid.UUID
    course_id: uuid.UUID
    title: str
    start: float | None
    end: float | None
    page: int | None
    snippet: str
    rank: float


@dataclass(frozen=True)
class SearchPage:
    count: int
    hits: list[Hit]
    mode: str = TEXT  # the mode that ran
    degraded: bool = False  # ``semantic`` or ``hybrid`` was asked, and the provider failed


def search_material(
    *,
    user: User,
    q: str,
    course_id: uuid.UUID | None = None,
    kind: str | None = None,
    mode: str | None = None,
    lecture_ids: Collection[uuid.UUID] | None = None,
    document_ids: Collection[uuid.UUID] | None = None,
    limit: int,
    offset: int = 0,
) -> SearchPage:
    """The caller's hits for ``q`` (web-search syntax), best first: ``limit`` of them from
    ``offset``, and how many there are in all. ``kind`` is a source name (``lecture``,
    ``document``) or ``None`` for all; ``mode`` one of ``MODES``, or ``None`` for
    ``hybrid`` where embeddings are on (see the module). ``lecture_ids`` or
    ``document_ids`` given: only those of the caller's sources (none of a kind whose list
    is not given)."""
    only = {
        "lecture_ids": None if lecture_ids is None else tuple(lecture_ids),
        "document_ids": None if document_ids is None else tuple(document_ids),
    }
    if lecture_ids is not None or document_ids is not None:
        only = {name: ids or () for name, ids in only.items()}
    by_words = partial(
        _by_words,
        user=user,
        q=q,
        course_id=course_id,
        kind=kind,
        only=only,
        limit=limit,
        offset=offset,
    )
    mode = mode or HYBRID
    if mode == TEXT or not embeddings_enabled():
        return by_words()
    try:
        vector = query_embedding(q=q)
    except ProviderError as error:
        # One line, without the key (the provider client's messages never carry it).
        logger.warning("search mode=%s answered by words (degraded): %s", mode, error)
        return dataclasses.replace(by_words(), degraded=True)
    query = PassageQuery(
        user_id=user.pk,
        q=q,
        vector=vector,
        fused=mode == HYBRID,
        course_id=course_id,
        kind=kind,
        **only,
    )
    count, rows = passage_page(query=query, limit=limit, offset=offset)
    hits = [_hit(row, html_snippet(row["headline"])) for row in rows]
    return SearchPage(count=count, hits=hits, mode=mode)


def _by_words(
    *,
    user: User,
    q: str,
    course_id: uuid.UUID | None,
    kind: str | None,
    only: dict[str, tuple[uuid.UUID, ...] | None],
    limit: int,
    offset: int,
) -> SearchPage:
    """Word search (``text``) over transcript segments and document pages."""
    if full_text_available():
        query = Query(user=user, course_id=course_id, full_text=search_query(q), **only)
    else:
        words, excluded = plain_terms(q)
        if not words:  # only exclusions: nothing to look for
            return SearchPage(count=0, hits=[])
        query = Query(
            user=user,
            course_id=course_id,
            full_text=None,
            words=words,
            excluded=excluded,
            **only,
        )
    parts = [
        source(query)
        for name, source in SOURCES.items()
        if kind in (None, name) and (not query.narrowed or only[f"{name}_ids"])
    ]
    if not parts:  # narrowed to no source at all
        return SearchPage(count=0, hits=[])
    if query.full_text is not None:
        count, hits = _ranked_page(parts, q, limit=limit, offset=offset)
        if count is None:  # past the end (or nothing at all): the total alone
            count = _count(parts) if offset else 0
        return SearchPage(count=count, hits=hits)
    count = _count(parts)
    if offset >= count:
        return SearchPage(count=count, hits=[])
    page = _union(parts).order_by(*ORDER)[offset : offset + limit]
    hits = [_hit(row, plain_snippet(row["hit_text"], query.words)) for row in page]
    return SearchPage(count=count, hits=hits)


def _count(parts: list[QuerySet]) -> int:
    return _union([part.values("hit_type") for part in parts]).count()


def _union(parts: list[QuerySet]) -> QuerySet:
    first, *others = parts
    return first.union(*others, all=True) if others else first


def _hit(row: dict, snippet: str) -> Hit:
    return Hit(
        type=row["hit_type"],
        id=row["hit_id"],
        course_id=row["hit_course_id"],
        title=row["hit_title"],
        start=row["hit_start"],
        end=row["hit_end"],
        page=row["hit_page"],
        snippet=snippet,
        rank=float(row["hit_rank"]),
    )


def _ranked_page(
    parts: list[QuerySet], q: str, *, limit: int, offset: int
) -> tuple[int | None, list[Hit]]:
    """One query: the page's rows with their ``ts_headline`` snippets, and the total number
    of hits (``None`` when the page is empty)."""
    inner, inner_params = _union(parts).query.sql_with_params()
    columns = [name for name in COLUMNS if name != "hit_text"]

    def order(table: str) -> str:
        return ", ".join(
            f"{table}.{name[1:]} DESC" if name.startswith("-") else f"{table}.{name}"
            for name in ORDER
        )

    headline, headline_params = headline_sql("page.hit_text", q)
    sql = (
        f"SELECT {', '.join(f'page.{name}' for name in columns)}, page.total, "  # noqa: S608
        f"{headline} FROM ("
        f"SELECT hits.*, COUNT(*) OVER () AS total FROM ({inner}) AS hits "
        f"ORDER BY {order('hits')} LIMIT %s OFFSET %s"
        f") AS page ORDER BY {order('page')}"
    )
    # In the order of the placeholders: the headline's, the sources', the cut.
    params = [*headline_params, *inner_params, limit, offset]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    hits = []
    for *values, _total, headline in rows:
        row = dict(zip(columns, values, strict=True))
        hits.append(_hit(row, html_snippet(headline)))
    return (rows[0][-2] if rows else None), hits
