"""Passages: how transcripts and pages are cut, and that they follow their sources."""

from __future__ import annotations

import itertools

import pytest

from documents.jobs import document_extract_text
from documents.models import DocumentPage, DocumentText
from search.models import Passage
from search.passages import (
    PAGE_MAX_CHARS,
    TimedText,
    lecture_pieces,
    page_pieces,
)
from tests.documents.pdfs import text_pdf
from tests.documents.text_helpers import extracted
from tests.factories import UserFactory
from tests.lectures.factories import LectureLinkFactory
from tests.lectures.test_api import completed_lecture


def speech(seconds: int, *, every: float = 5.0, sentence_every: int = 3) -> list[TimedText]:
    """Segments of ``every`` seconds for ``seconds``; every ``sentence_every``-th ends a
    sentence."""
    count = int(seconds / every)
    return [
        TimedText(
            i * every,
            (i + 1) * every,
            f"segment {i}" + ("." if (i + 1) % sentence_every == 0 else ","),
        )
        for i in range(count)
    ]


# --- Cutting a transcript -----------------------------------------------------------------


def test_a_transcript_is_cut_into_windows_of_45_to_90_seconds():
    pieces = lecture_pieces(speech(600))

    assert all(45 <= p.end - p.start <= 90 for p in pieces[:-1])
    assert pieces[0].start == 0 and pieces[-1].end == 600


def test_each_window_repeats_the_last_ten_seconds_of_the_one_before():
    pieces = lecture_pieces(speech(600))

    for before, after in itertools.pairwise(pieces):
        assert 0 < before.end - after.start <= 10


def test_a_window_ends_where_a_sentence_ends_when_one_is_in_reach():
    pieces = lecture_pieces(speech(600))

    assert all(p.text.endswith(".") for p in pieces[:-1])


def test_every_segment_is_in_a_passage_in_the_order_spoken():
    segments = speech(300)

    pieces = lecture_pieces(segments)

    assert pieces[0].text.startswith("segment 0, segment 1, segment 2.")
    for segment in segments:
        holding = [p for p in pieces if p.start <= segment.start and segment.end <= p.end]
        assert holding and all(segment.text in p.text for p in holding)


def test_a_segment_longer_than_a_window_is_a_passage_of_its_own():
    segments = [
        TimedText(0, 5, "Hello."),
        TimedText(5, 305, "A very long stretch."),
        TimedText(305, 310, "Bye."),
    ]

    pieces = lecture_pieces(segments)

    assert [p.text for p in pieces] == ["Hello.", "A very long stretch.", "Bye."]


def test_a_short_transcript_is_one_passage():
    segments = [TimedText(0, 4, "Welcome."), TimedText(4, 9, "Today: cells.")]

    assert [(p.text, p.start, p.end) for p in lecture_pieces(segments)] == [
        ("Welcome. Today: cells.", 0, 9)
    ]


def test_no_segments_no_passages():
    assert lecture_pieces([]) == []


# --- Cutting a page --------------------------------------------------------------------------


def test_a_short_page_is_one_passage():
    assert [(p.text, p.page) for p in page_pieces(3, "Short page.\n\nTwo paragraphs.")] == [
        ("Short page.\n\nTwo paragraphs.", 3)
    ]


def test_a_long_page_is_cut_between_paragraphs():
    paragraphs = [f"Paragraph {i} " + "word " * 100 for i in range(6)]

    pieces = page_pieces(1, "\n\n".join(paragraphs))

    assert all(len(p.text) <= PAGE_MAX_CHARS for p in pieces)
    assert all(p.text.startswith("Paragraph") for p in pieces)
    assert "\n\n".join(p.text for p in pieces).split() == "\n\n".join(paragraphs).split()


def test_a_paragraph_longer_than_a_passage_is_cut_between_sentences():
    sentences = [f"Sentence {i} says something about cells and energy." for i in range(60)]

    pieces = page_pieces(1, " ".join(sentences))

    assert len(pieces) > 1
    assert all(len(p.text) <= PAGE_MAX_CHARS for p in pieces)
    assert all(p.text.endswith(".") for p in pieces)
    assert " ".join(p.text for p in pieces) == " ".join(sentences)


def test_text_without_any_break_is_cut_at_the_passage_length():
    pieces = page_pieces(1, "x" * 3000)

    assert [len(p.text) for p in pieces] == [1200, 1200, 600]


def test_a_blank_page_has_no_passage():
    assert page_pieces(1, "  \n\n \n") == []


# --- Following their sources ------------------------------------------------------------------


VTT = (
    "WEBVTT\n\n"
    + "\n".join(
        f"00:{i // 60:02d}:{i % 60:02d}.000 --> 00:{(i + 5) // 60:02d}:{(i + 5) % 60:02d}.000\n"
        f"Words at second {i}.\n"
        for i in range(0, 300, 5)
    )
).encode()


def put_captions(client, lecture, body: bytes = VTT):
    return client.put(f"/api/lectures/{lecture.id}/transcript", data=body, content_type="text/vtt")


@pytest.fixture
def lecture(alice):
    return completed_lecture(alice)


def test_captions_become_passages_of_the_lecture(alice_client, lecture):
    response = put_captions(alice_client, lecture)

    assert response.status_code == 200
    passages = list(Passage.objects.filter(lecture=lecture).order_by("index"))
    assert len(passages) >= 4
    assert passages[0].start == 0 and passages[-1].end == 300
    assert passages[0].text.startswith("Words at second 0. Words at second 5.")
    assert all(p.document_id is None and p.page is None for p in passages)


def test_new_captions_replace_the_passages(alice_client, client_for, lecture):
    put_captions(alice_client, lecture)
    admin = UserFactory(is_staff=True)  # an API admin may replace a completed transcript
    LectureLinkFactory(user=admin, lecture=lecture)
    replacement = b"WEBVTT\n\n00:00:00.000 --> 00:00:04.000\nEntirely new words.\n"

    response = put_captions(client_for(admin), lecture, replacement)

    assert response.status_code == 200
    assert list(Passage.objects.filter(lecture=lecture).values_list("text", flat=True)) == [
        "Entirely new words."
    ]


def test_refused_captions_leave_the_passages_as_they_were(alice_client, lecture):
    put_captions(alice_client, lecture)
    before = list(Passage.objects.filter(lecture=lecture).values_list("text", flat=True))

    response = put_captions(alice_client, lecture, b"WEBVTT\n\nnot a cue\n")

    assert response.status_code in (400, 409)
    assert list(Passage.objects.filter(lecture=lecture).values_list("text", flat=True)) == before


def test_a_deleted_lecture_takes_its_passages_with_it(alice_client, lecture):
    put_captions(alice_client, lecture)

    lecture.delete()

    assert not Passage.objects.exists()


def test_a_documents_text_becomes_passages_per_page(alice):
    document = extracted(alice, text_pdf("Page one about cells.", "Page two about stars."))

    passages = Passage.objects.filter(document=document).order_by("index")

    assert [(p.page, p.text) for p in passages] == [
        (1, "Page one about cells."),
        (2, "Page two about stars."),
    ]
    assert {p.owner_id for p in passages} == {alice.id}


def test_text_extracted_again_replaces_the_passages(alice):
    document = extracted(alice, text_pdf("Old words."))
    DocumentText.objects.filter(document=document).update(status="pending")
    DocumentPage.objects.filter(document=document).update(text="stale")

    document_extract_text(document_id=document.id)

    assert list(Passage.objects.filter(document=document).values_list("text", flat=True)) == [
        "Old words."
    ]


def test_a_deleted_document_takes_its_passages_with_it(alice):
    document = extracted(alice, text_pdf("Some words."))

    document.delete()

    assert not Passage.objects.exists()
