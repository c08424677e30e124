"""What can be searched: one small query per source of text, all of the same shape.

A source is a function ``(query) -> QuerySet``: the rows of its kind that the
query's user may see and that match, each as the same named columns (``COLUMNS``, in that
order), so that ``search.selectors`` can combine every source in one ``UNION ALL``, order
the whole by rank and cut one page of it. Who may see what is part of each source's own
``WHERE``: a row the caller may not see is never selected, whatever the filters.

Two sources: document pages (``documents.DocumentPage``) and transcript segments of
lectures (``lectures.TranscriptSegment``). A new kind of searchable text is one more
function here and one entry in ``SOURCES``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import F, FloatField, IntegerField, Lookup, QuerySet, TextField, Value
from django.db.models.functions import Cast

from accounts.models import User
from documents.models import DocumentPage, TextStatus
from lectures.models import LectureLink
from transcripts.models import TranscriptSegment

# The columns of every source, in this order (a UNION matches columns by position).
COLUMNS = (
    "hit_type",
    "hit_id",
    "hit_course_id",
    "hit_title",
    "hit_start",
    "hit_end",
    "hit_page",
    "hit_text",
    "hit_rank",
)


@dataclass(frozen=True)
class Query:
    """One search, as every source reads it."""

    user: User
    course_id: uuid.UUID | None
    # PostgreSQL: the parsed web-search query. Elsewhere (SQLite): ``None``, and the
    # plain words and phrases to match as substrings instead.
    full_text: SearchQuery | None
    words: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    # Only these sources (``Query.narrowed``); ``None``: every source of the caller's.
    lecture_ids: tuple[uuid.UUID, ...] | None = None
    document_ids: tuple[uuid.UUID, ...] | None = None

    @property
    def narrowed(self) -> bool:
        return self.lecture_ids is not None or self.document_ids is not None


def _matching(queryset: QuerySet, query: Query, text: str = "text") -> tuple[QuerySet, object]:
    """``queryset`` narrowed to the rows whose text matches, and their rank expression.

    With full-text search the stored vector is matched (``@@``, the GIN index) and ranked
    (``ts_rank``); without it, every word is a case-insensitive substring and rank is 0.
    """
    if query.full_text is not None:
        return (
            queryset.filter(search_vector=query.full_text),
            SearchRank(F("search_vector"), query.full_text),
        )
    for word in query.words:
        queryset = queryset.filter(**{f"{text}__icontains": word})
    for word in query.excluded:
        queryset = queryset.exclude(**{f"{text}__icontains": word})
    return queryset, Value(0.0, output_field=FloatField())


def _shaped(queryset: QuerySet, **columns) -> QuerySet:
    missing = set(COLUMNS) - set(columns)
    assert not missing, f"a source must give every column; missing {missing}"
    # No model ordering: the union is ordered once, by rank.
    shaped = queryset.order_by().annotate(**{name: columns[name] for name in COLUMNS})
    return shaped.values(*COLUMNS)


def document_pages(query: Query) -> QuerySet:
    """Pages of the caller's own documents (the page's copy of the owner), text completed."""
    pages = DocumentPage.objects.filter(
        owner=query.user, document__text__status=TextStatus.COMPLETED
    )
    if query.course_id is not None:
        pages = pages.filter(document__course_id=query.course_id)
    if query.narrowed:
        pages = pages.filter(document_id__in=query.document_ids or ())
    pages, rank = _matching(pages, query)
    return _shaped(
        pages,
        hit_type=Value("document", output_field=TextField()),
        hit_id=F("document_id"),
        hit_course_id=F("document__course_id"),
        hit_title=Cast("document__original_filename", TextField()),
        hit_start=Value(None, output_field=FloatField()),
        hit_end=Value(None, output_field=FloatField()),
        hit_page=Cast("number", IntegerField()),
        hit_text=F("text"),
        hit_rank=rank,
    )


class _EqualsAny(Lookup):
    """``lhs = ANY(rhs)``, rhs an array (PostgreSQL)."""

    lookup_name = "equals_any"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", [*lhs_params, *rhs_params]


def lecture_segments(query: Query) -> QuerySet:
    """Transcript segments of lectures linked to the caller (``LectureLink`` of the
    caller), with ``start`` and ``end`` in seconds.

    ``TranscriptSegment.search_vector`` is written from the text in the transaction that
    inserts it (``TranscriptSegment.insert``). The segments' ``lecture`` foreign key has
    its (default) index, which the filter below intersects with the GIN index, as
    ``DocumentPage.owner`` does for documents.
    """
    linked = LectureLink.objects.filter(user=query.user).values("lecture_id")
    if query.full_text is not None:
        # ``lecture_id = ANY(ARRAY(the caller's lectures))``: an index condition on the
        # segments' lecture index that PostgreSQL can AND with the GIN index's matches,
        # where a join would make it read every segment holding a common word.
        segments = TranscriptSegment.objects.filter(
            _EqualsAny(F("lecture_id"), ArraySubquery(linked))
        )
    else:
        segments = TranscriptSegment.objects.filter(lecture_id__in=linked)
    if query.course_id is not None:
        segments = segments.filter(lecture__course_id=query.course_id)
    if query.narrowed:
        segments = segments.filter(lecture_id__in=query.lecture_ids or ())
    segments, rank = _matching(segments, query)
    return _shaped(
        segments,
        hit_type=Value("lecture", output_field=TextField()),
        hit_id=F("lecture_id"),
        hit_course_id=F("lecture__course_id"),
        # The title as the lecture's own body gives it ("" when no one gave one), so a
        # client names a lecture the same in its list and in its search results.
        hit_title=Cast("lecture__title", TextField()),
        hit_start=Cast("start", FloatField()),
        hit_end=Cast("end", FloatField()),
        hit_page=Value(None, output_field=IntegerField()),
        hit_text=F("text"),
        hit_rank=rank,
    )


Source = Callable[[Query], QuerySet]

# ``?type=`` names a source.
SOURCES: dict[str, Source] = {"lecture": lecture_segments, "document": document_pages}
