"""The text a hit stands for, to quote it whole (the assistant's sources): the passages of
its lecture around its seconds, or of its document's page.

A hit of word search is a transcript segment or a whole page; one of ``semantic`` or
``hybrid`` a passage. Either way the quote is the passages at that place, which are about a
minute of speech or a paragraph of a page, so a source reads the same whichever mode found
it. The caller's own passages only, as every search: lectures linked to them, documents
they own.
"""

from __future__ import annotations

import html
import re

from accounts.models import User
from search.models import Passage
from search.selectors import Hit

_TAGS = re.compile(r"</?mark>")


def hit_quote(*, user: User, hit: Hit, max_chars: int) -> tuple[tuple[str, ...], str]:
    """The ids of the passages ``hit`` falls in and their text, at most ``max_chars``; the
    hit's snippet, unmarked, where it has no passage (its source's passages not yet built)."""
    if hit.type == "lecture":
        passages = Passage.objects.filter(lecture_id=hit.id, lecture__links__user=user)
        if hit.start is not None and hit.end is not None:
            passages = passages.filter(start__lt=max(hit.end, hit.start + 0.001), end__gt=hit.start)
    else:
        passages = Passage.objects.filter(document_id=hit.id, owner=user, page=hit.page)
    rows = list(passages.order_by("index").values_list("id", "text")[:4])
    if not rows:
        return (f"{hit.type}:{hit.id}:{hit.start}:{hit.page}",), html.unescape(
            _TAGS.sub("", hit.snippet)
        )[:max_chars]
    return tuple(str(pk) for pk, _ in rows), "\n".join(text for _, text in rows)[:max_chars]
