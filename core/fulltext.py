"""Full-text search pieces every searchable text shares (document pages, transcript segments).

A searchable row keeps its text and a ``tsvector`` of it (``SearchVectorField``, GIN index).
The vector is written by the same statement that writes the text, from the *new* text as a
parameter (``vector_of``): in an UPDATE, ``to_tsvector(text)`` would read the column's old
value. Rows inserted in bulk in one transaction (a transcript's segments) get theirs just
after, by one UPDATE that reads the text they were inserted with (``write_vectors``).

Text is cleaned before storage (``clean_text``): PostgreSQL refuses NUL in text, and control
characters are what snippets use as highlight markers (``MARK_START``/``MARK_STOP``), so
stored text can never contain a marker.

The embedded SQLite of ``make run`` has no full-text search: there the vector stays empty
and searches fall back to substring matching (``full_text_available`` tells which).
"""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import F, Func, QuerySet, TextField, Value

# ts_headline's StartSel/StopSel: two control characters that ``clean_text`` removes from
# every stored text, so in a headline they can only be ts_headline's own marks.
MARK_START = "\x02"
MARK_STOP = "\x03"

# PostgreSQL's text parser reads ``<int>`` in ``vector<int>`` (or ``<script>``) as an HTML
# tag: its words are not indexed and ts_headline drops it. So the parser is given angle
# brackets as two control characters (absent from stored text), which it reads as
# separators; snippets turn them back into the (escaped) brackets.
LT_STAND_IN = "\x0e"
GT_STAND_IN = "\x0f"
_ANGLES = "<>"
_STAND_INS = LT_STAND_IN + GT_STAND_IN
_ANGLE_STAND_INS = str.maketrans(_ANGLES, _STAND_INS)

# Removed from stored text: control characters (Unicode's Cc: U+0000-U+001F and
# U+007F-U+009F) but tab and line feed, lone surrogates (Cs), and the bidirectional
# embedding, override and isolate controls, which make text display as something other than
# what it is. One character class, so cleaning runs in C: a 5 MiB text takes a fraction
# of a second, where a loop over its characters in Python takes seconds.
_REMOVED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str) -> str:
    """``text`` fit for storage and search: line ends as ``\\n``, form feeds and vertical
    tabs as line breaks, and no NUL, other control character, bidi control or lone
    surrogate (PDFs and transcription providers return all of these)."""
    text = text.replace("\r\n", "\n").translate({0x0D: "\n", 0x0B: "\n", 0x0C: "\n"})
    return _REMOVED.sub("", text)


def for_parser(text: str) -> str:
    """``text`` as PostgreSQL's text parser is given it: angle brackets as stand-ins."""
    return text.translate(_ANGLE_STAND_INS)


def for_parser_sql(column: str) -> Func:
    """``for_parser`` of a text column, computed by the database."""
    return Func(
        F(column), Value(_ANGLES), Value(_STAND_INS), function="translate", output_field=TextField()
    )


def full_text_available() -> bool:
    """PostgreSQL's full-text search is there (not on the embedded SQLite)."""
    return connection.vendor == "postgresql"


def vector_of(text: str) -> SearchVector | None:
    """The value to store in a ``search_vector`` column next to ``text``: computed by the
    database from the new text itself, in the statement that writes it. ``None`` where
    there is no full-text search."""
    if not full_text_available():
        return None
    return SearchVector(
        Value(for_parser(text), output_field=TextField()), config=settings.SEARCH_CONFIG
    )


def write_vectors(rows: QuerySet) -> None:
    """Write the ``search_vector`` of ``rows`` from the ``text`` they hold, in one UPDATE
    computed by the database: for rows just inserted in bulk, whose text the statement reads
    as written. ``vector_of`` is an expression per row, which Django compiles row by row:
    inserting 20,000 segments took 4.0-4.6 s of the web worker's CPU (4.7-5.2 s in all,
    the database's work included) with it, 1.7-1.9 s (2.5 s in all) inserted plainly and
    given their vectors so: the same vectors."""
    if full_text_available():
        rows.update(
            search_vector=SearchVector(for_parser_sql("text"), config=settings.SEARCH_CONFIG)
        )


def search_query(q: str) -> SearchQuery:
    """``q`` read like a web search box (``websearch_to_tsquery``): words, ``"quoted
    phrases"``, ``-excluded``, ``or``; never a syntax error."""
    return SearchQuery(for_parser(q), search_type="websearch", config=settings.SEARCH_CONFIG)
