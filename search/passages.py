"""Cutting a source into passages, and keeping its passages in step with it.

A lecture's transcript is cut at segment boundaries into windows of 45-90 s of speech,
preferring a segment that ends a sentence once a window is long enough; each window
starts with the segments of the last ~10 s of the one before, so an idea said across a cut
is whole in one of the two. A document page is cut into pieces of at most 1,200 characters
at paragraph boundaries, then sentence boundaries, then spaces; a short page is one piece.

``passages_rebuild_lecture`` and ``passages_rebuild_document`` run in the transaction that
changes the source (``search.signals``), so a search never sees passages of text that is
gone, and queue the embedding job when embeddings are on.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from django.db import transaction

from core.fulltext import vector_of
from documents.models import Document, DocumentPage
from search.models import Passage
from search.services import embedding_lock_for_source, embedding_queue_for_source
from transcripts.models import TranscriptSegment

LECTURE_MIN_SECONDS = 45.0
LECTURE_MAX_SECONDS = 90.0
LECTURE_OVERLAP_SECONDS = 10.0
PAGE_MAX_CHARS = 1200

_SENTENCE_END = re.compile(r"[.!?…][\"')\]]*$")
_PARAGRAPHS = re.compile(r"\n[ \t]*\n\s*")
_SENTENCES = re.compile(r"(?<=[.!?…])[\"')\]]*\s+")


@dataclass(frozen=True)
class TimedText:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Piece:
    """A passage's text and where it is: ``start``/``end`` (lectures) or ``page``."""

    text: str
    start: float | None = None
    end: float | None = None
    page: int | None = None


def lecture_pieces(
    segments: Sequence[TimedText],
    *,
    shortest: float = LECTURE_MIN_SECONDS,
    longest: float = LECTURE_MAX_SECONDS,
    overlap: float = LECTURE_OVERLAP_SECONDS,
) -> list[Piece]:
    """Windows of ``segments`` (in time order), each ``shortest``-``longest`` seconds where
    the segments allow, each repeating the segments of the last ``overlap`` seconds of the
    one before."""
    pieces: list[Piece] = []
    first = 0
    while first < len(segments):
        last = _window_end(segments, first, shortest, longest)
        window = segments[first : last + 1]
        pieces.append(
            Piece(
                text=" ".join(s.text for s in window),
                start=window[0].start,
                end=max(s.end for s in window),
            )
        )
        if last == len(segments) - 1:
            break
        # The next window starts with the segments that began in this one's last seconds.
        cut = segments[last].end - overlap
        first = next(k for k in range(first + 1, last + 2) if k > last or segments[k].start >= cut)
    return pieces


def _window_end(segments: Sequence[TimedText], first: int, shortest: float, longest: float) -> int:
    """The last segment of the window that starts at ``first``."""
    start = segments[first].start
    last = first
    sentence_end = None
    while last + 1 < len(segments) and segments[last + 1].end - start <= longest:
        last += 1
        if segments[last].end - start >= shortest and _SENTENCE_END.search(segments[last].text):
            sentence_end = last
    if last + 1 < len(segments) and sentence_end is not None:
        return sentence_end  # the window is full: cut where a sentence ends
    return last


def page_pieces(number: int, text: str, *, longest: int = PAGE_MAX_CHARS) -> list[Piece]:
    """Pieces of one page's text, each at most ``longest`` characters."""
    return [Piece(text=part, page=number) for part in _packed(_units(text, longest), longest)]


def _units(text: str, longest: int) -> Iterator[tuple[str, str]]:
    """``(text, joiner)``: paragraphs, or the sentences (or words) of a long one, each at
    most ``longest`` characters, with what joins it to the one before in a piece."""
    for paragraph in _PARAGRAPHS.split(text.strip()):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        if len(paragraph) <= longest:
            yield paragraph, "\n\n"
            continue
        joiner = "\n\n"
        for sentence in _SENTENCES.split(paragraph):
            for part in _split_words(sentence.strip(), longest):
                yield part, joiner
                joiner = " "


def _split_words(text: str, longest: int) -> Iterator[str]:
    while len(text) > longest:
        cut = text.rfind(" ", 0, longest + 1)
        if cut <= 0:
            cut = longest  # one word longer than a piece: cut inside it
        yield text[:cut].strip()
        text = text[cut:].strip()
    if text:
        yield text


def _packed(units: Iterable[tuple[str, str]], longest: int) -> Iterator[str]:
    current = ""
    for unit, joiner in units:
        if current and len(current) + len(joiner) + len(unit) > longest:
            yield current
            current = ""
        current = f"{current}{joiner}{unit}" if current else unit
    if current:
        yield current


# --- Keeping passages in step with their sources ------------------------------------------


def passages_rebuild_lecture(*, lecture_id: uuid.UUID) -> int:
    """Replace a lecture's passages with those of its current transcript segments; returns
    how many there are. Call inside the transaction that changed the segments."""
    segments = [
        TimedText(start, end, text)
        for start, end, text in TranscriptSegment.objects.filter(lecture_id=lecture_id)
        .order_by("index")
        .values_list("start", "end", "text")
    ]
    rows = [
        Passage(
            lecture_id=lecture_id,
            index=i,
            start=piece.start,
            end=piece.end,
            text=piece.text,
            search_vector=vector_of(piece.text),
        )
        for i, piece in enumerate(lecture_pieces(segments))
    ]
    return _replace(Passage.objects.filter(lecture_id=lecture_id), rows, lecture_id=lecture_id)


def passages_rebuild_document(*, document_id: uuid.UUID) -> int:
    """Replace a document's passages with those of its current page text; returns how many
    there are. Call inside the transaction that changed the pages."""
    owner_id = Document.objects.filter(pk=document_id).values_list("owner_id", flat=True).first()
    pieces: list[Piece] = []
    if owner_id is not None:
        pages = DocumentPage.objects.filter(document_id=document_id).order_by("number")
        for number, text in pages.values_list("number", "text").iterator(chunk_size=200):
            pieces.extend(page_pieces(number, text))
    rows = [
        Passage(
            document_id=document_id,
            owner_id=owner_id,
            index=i,
            page=piece.page,
            text=piece.text,
            search_vector=vector_of(piece.text),
        )
        for i, piece in enumerate(pieces)
    ]
    return _replace(Passage.objects.filter(document_id=document_id), rows, document_id=document_id)


def _replace(old, rows: list[Passage], **source: uuid.UUID) -> int:
    with transaction.atomic():
        # A running embedding job writes this source's vectors holding its row's lock.
        embedding_lock_for_source(**source)
        old.delete()
        Passage.objects.bulk_create(rows, batch_size=1000)
        embedding_queue_for_source(passage_count=len(rows), **source)
    return len(rows)
