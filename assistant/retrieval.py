"""What an answer is written from: the caller's passages for a question, numbered 1…n.

The search is ``search.selectors.search_material`` in its best available mode, over the
caller's material only (its own query enforces that), in the conversation's course or the
request's narrower scope. The ids a scope names are checked first: one the caller cannot
see is a 404, like any other object of theirs that does not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings

from accounts.models import User
from assistant.prompt import SOURCE_MAX_CHARS, estimate_tokens, search_terms
from core.exceptions import ObjectNotFound
from courses.models import Enrollment
from documents.models import Document
from lectures.models import LectureLink
from search.quotes import hit_quote
from search.selectors import search_material

# Hits asked for per source given: several hits of word search fall in one passage.
HITS_PER_SOURCE = 3


@dataclass(frozen=True)
class Scope:
    course_id: uuid.UUID | None = None
    lecture_ids: tuple[uuid.UUID, ...] | None = None
    document_ids: tuple[uuid.UUID, ...] | None = None


@dataclass
class Retrieved:
    sources: list[dict] = field(default_factory=list)  # the data-source objects
    quotes: list[str] = field(default_factory=list)  # their text, in the same order


def scope_check(*, user: User, scope: Scope) -> None:
    """``ObjectNotFound`` when the scope names a course, lecture or document that is not
    the caller's."""
    if (
        scope.course_id is not None
        and not Enrollment.objects.filter(user=user, course_id=scope.course_id).exists()
    ):
        raise ObjectNotFound("No such course in your list.")
    lectures = set(scope.lecture_ids or ())
    if lectures and LectureLink.objects.filter(user=user, lecture_id__in=lectures).count() != len(
        lectures
    ):
        raise ObjectNotFound("No such lecture.")
    documents = set(scope.document_ids or ())
    if documents and Document.objects.filter(owner=user, pk__in=documents).count() != len(
        documents
    ):
        raise ObjectNotFound("No such document.")


def retrieve(*, user: User, question: str, previous: Sequence[str], scope: Scope) -> Retrieved:
    """The best passages of the caller's material for ``question`` (the previous question
    adds its words, for a follow-up), at most ``ASSISTANT_MAX_SOURCES`` and within the
    context budget, numbered from 1."""
    q = search_terms(question, *previous)
    found = Retrieved()
    if not q:
        return found
    most = settings.ASSISTANT_MAX_SOURCES
    page = search_material(
        user=user,
        q=q,
        course_id=scope.course_id,
        lecture_ids=scope.lecture_ids,
        document_ids=scope.document_ids,
        limit=most * HITS_PER_SOURCE,
    )
    # The sources take at most half of the budget; the earlier turns the rest.
    left = settings.ASSISTANT_CONTEXT_TOKENS // 2
    seen: set[tuple[str, ...]] = set()
    for hit in page.hits:
        if len(found.sources) == most:
            break
        key, quote = hit_quote(user=user, hit=hit, max_chars=SOURCE_MAX_CHARS)
        if key in seen:
            continue
        cost = estimate_tokens(quote) + 30  # the block's own lines
        if cost > left:
            break
        seen.add(key)
        left -= cost
        found.quotes.append(quote)
        found.sources.append(
            {
                "number": len(found.sources) + 1,
                "type": hit.type,
                "id": str(hit.id),
                "course_id": str(hit.course_id),
                "title": hit.title,
                "start": hit.start,
                "end": hit.end,
                "page": hit.page,
                "snippet": hit.snippet,
            }
        )
    return found
