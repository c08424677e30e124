"""Snippets: plain text around the match, HTML-escaped, matched words in ``<mark>``.

PostgreSQL's ``ts_headline`` marks the matched words but escapes nothing, and escaping the
text before it would change the words it matches (``a<b`` is not ``a&lt;b``). So the
headline is asked to mark matches with two control characters that stored text cannot
contain (``core.fulltext.MARK_START``/``MARK_STOP``: ``clean_text`` removes them), the
result is escaped as a whole, and only then do the markers become tags. Whatever a PDF or a
transcript says (``<script>``, ``&amp;``, quotes) comes back as inert text.
"""

from __future__ import annotations

import html
import re

from django.conf import settings

from core.fulltext import GT_STAND_IN, LT_STAND_IN, MARK_START, MARK_STOP, for_parser

# ts_headline's options: the markers, and the words around the best match (a short page
# whole, punctuation included; fragment mode would trim it at word boundaries).
HEADLINE_OPTIONS = f"StartSel={MARK_START}, StopSel={MARK_STOP}, MaxWords=30, MinWords=15"
# The SQLite fallback: characters of context around the first match.
PLAIN_CONTEXT_CHARS = 160


def headline_sql(column: str, q: str) -> tuple[str, list[str]]:
    """``ts_headline`` of the text in ``column`` for the query ``q`` (web-search syntax), as
    ``html_snippet`` reads it: the SQL expression and its parameters."""
    config = settings.SEARCH_CONFIG
    return (
        f"ts_headline(%s::regconfig, translate({column}, '<>', %s), "
        "websearch_to_tsquery(%s::regconfig, %s), %s)",
        [config, LT_STAND_IN + GT_STAND_IN, config, for_parser(q), HEADLINE_OPTIONS],
    )


def html_snippet(headline: str) -> str:
    """A ``ts_headline`` result (markers around matches, angle brackets as their
    stand-ins: ``core.fulltext.for_parser``) as the API's snippet."""
    escaped = " ".join(html.escape(headline, quote=True).split())
    return (
        escaped.replace(LT_STAND_IN, "&lt;")
        .replace(GT_STAND_IN, "&gt;")
        .replace(MARK_START, "<mark>")
        .replace(MARK_STOP, "</mark>")
    )


def plain_snippet(text: str, words: tuple[str, ...]) -> str:
    """Without full-text search: the text around the first of ``words`` found
    (case-insensitively), escaped, each occurrence of a word marked."""
    lowered = text.lower()
    found = [index for word in words if (index := lowered.find(word.lower())) >= 0]
    first = min(found, default=0)
    start = max(0, first - PLAIN_CONTEXT_CHARS // 2)
    piece = text[start : start + PLAIN_CONTEXT_CHARS]
    pattern = "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True) if word)
    parts: list[str] = []
    last = 0
    if pattern:
        for match in re.finditer(pattern, piece, flags=re.IGNORECASE):
            parts.append(html.escape(piece[last : match.start()], quote=True))
            parts.append(f"<mark>{html.escape(match.group(), quote=True)}</mark>")
            last = match.end()
    parts.append(html.escape(piece[last:], quote=True))
    snippet = " ".join("".join(parts).split())
    if start > 0:
        snippet = "… " + snippet
    if start + PLAIN_CONTEXT_CHARS < len(text):
        snippet += " …"
    return snippet


_TERM = re.compile(r'(-?)"([^"]*)"|(-?)(\S+)')


def plain_terms(q: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(words, excluded)`` of a web-search query, for substring matching: quoted phrases
    are one term, ``-term`` is excluded, ``or`` is dropped (every other term must match)."""
    words: list[str] = []
    excluded: list[str] = []
    for phrase_sign, phrase, word_sign, word in _TERM.findall(q):
        term = (phrase or word).strip()
        negative = bool(phrase_sign or word_sign)
        if not term or (not negative and term.lower() == "or" and not phrase):
            continue
        (excluded if negative else words).append(term)
    return tuple(words), tuple(excluded)
