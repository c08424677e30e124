"""The search (SPEC 13): every source of the caller's material in one ranked list.

Two queries whatever the number of sources, matches or the page asked for: the count, and
one page. Each source (``search.sources``) selects only the caller's own rows and gives the
same columns; the sources are combined with ``UNION ALL``, ordered by rank (then by kind,
id and place, so pages do not overlap) and cut with ``LIMIT``/``OFFSET``. On PostgreSQL the
snippets are made by ``ts_headline`` in the same query, around the page's rows only (it
parses the whole text, so never for every match).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet

from accounts.models import User
from core.fulltext import (
    GT_STAND_IN,
    LT_STAND_IN,
    for_parser,
    full_text_available,
    search_query,
)
from search.snippets import HEADLINE_OPTIONS, html_snippet, plain_snippet, plain_terms
from search.sources import COLUMNS, SOURCES, Query

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


def search_material(
    *,
    user: User,
    q: str,
    course_id: uuid.UUID | None = None,
    kind: str | None = None,
    limit: int,
    offset: int,
) -> SearchPage:
    """The caller's hits for ``q`` (web-search syntax), best first: ``limit`` of them from
    ``offset``, and how many there are in all. ``kind`` is a source name (``lecture``,
    ``document``) or ``None`` for all."""
    if full_text_available():
        query = Query(user=user, course_id=course_id, full_text=search_query(q))
    else:
        words, excluded = plain_terms(q)
        if not words:  # only exclusions: nothing to look for
            return SearchPage(count=0, hits=[])
        query = Query(
            user=user, course_id=course_id, full_text=None, words=words, excluded=excluded
        )
    parts = [
        part
        for name, source in SOURCES.items()
        if kind in (None, name) and (part := source(query)) is not None
    ]
    if not parts:
        return SearchPage(count=0, hits=[])
    count = _union([part.values("hit_type") for part in parts]).count()
    if offset >= count:
        return SearchPage(count=count, hits=[])
    page = _union(parts).order_by(*ORDER)[offset : offset + limit]
    if query.full_text is None:
        hits = [_hit(row, plain_snippet(row["hit_text"], query.words)) for row in page]
    else:
        hits = _with_headlines(page, q)
    return SearchPage(count=count, hits=hits)


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


def _with_headlines(page: QuerySet, q: str) -> list[Hit]:
    """The page's rows with ``ts_headline`` snippets, in one query: the page (a UNION with
    ORDER BY and LIMIT) becomes a subquery, and only its rows are headlined."""
    inner, params = page.query.sql_with_params()
    columns = [name for name in COLUMNS if name != "hit_text"]
    order = ", ".join(
        f"hits.{name[1:]} DESC" if name.startswith("-") else f"hits.{name}" for name in ORDER
    )
    sql = (
        f"SELECT {', '.join(f'hits.{name}' for name in columns)}, "  # noqa: S608 (fixed names)
        "ts_headline(%s::regconfig, translate(hits.hit_text, '<>', %s), "
        "websearch_to_tsquery(%s::regconfig, %s), %s) "
        f"FROM ({inner}) AS hits ORDER BY {order}"
    )
    config = settings.SEARCH_CONFIG
    with connection.cursor() as cursor:
        # The headline's parameters come first in the text, then the subquery's.
        cursor.execute(
            sql,
            [config, LT_STAND_IN + GT_STAND_IN, config, for_parser(q), HEADLINE_OPTIONS, *params],
        )
        rows = cursor.fetchall()
    hits = []
    for *values, headline in rows:
        row = dict(zip(columns, values, strict=True))
        hits.append(_hit(row, html_snippet(headline)))
    return hits
