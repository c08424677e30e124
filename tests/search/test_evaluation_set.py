"""The retrieval evaluation set (tests/benchmarks/retrieval) is what its README says: enough
sources and questions, every quote where it is said to be, and paraphrases that share no
lexeme with the passages the service cuts around their answers."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from search.evaluation import answer_places, collapsed, load_set, source_pages
from search.passages import TimedText, lecture_pieces, page_pieces
from transcripts.captions import VTT, parse_captions

SET = Path(__file__).resolve().parent.parent / "benchmarks" / "retrieval"


@pytest.fixture(scope="module")
def evaluation():
    return load_set(SET)


def test_the_set_has_thirty_sources_and_150_questions_with_unique_ids(evaluation):
    kinds = Counter(source.type for source in evaluation.sources)
    ids = [question.id for question in evaluation.questions]

    assert len(evaluation.sources) >= 30 and kinds["lecture"] and kinds["document"]
    assert len(ids) >= 150
    assert len(set(ids)) == len(ids)
    assert all(source.path.is_file() for source in evaluation.sources)


def test_a_third_of_the_questions_are_paraphrases(evaluation):
    paraphrases = sum(question.paraphrase for question in evaluation.questions)

    assert paraphrases * 3 >= len(evaluation.questions)


def test_every_quote_is_in_its_source(evaluation):
    places = answer_places(evaluation)  # raises naming the question whose quote is missing

    assert len(places) == len(
        {(a.source, a.quote) for q in evaluation.questions for a in q.answers}
    )


def _answer_passages(evaluation) -> dict[tuple[str, str], list[str]]:
    """The text of the passages the service cuts that hold each quoted answer."""
    by_slug = {source.slug: source for source in evaluation.sources}
    pieces = {}
    for source in evaluation.sources:
        if source.type == "lecture":
            cues = parse_captions(source.path.read_bytes(), VTT)
            pieces[source.slug] = lecture_pieces([TimedText(c.start, c.end, c.text) for c in cues])
        else:
            pieces[source.slug] = [
                piece
                for number, text in enumerate(source_pages(source), start=1)
                for piece in page_pieces(number, text)
            ]
    places = answer_places(evaluation)
    holding = {}
    for key, place in places.items():
        slug, quote = key
        if by_slug[slug].type == "lecture":
            texts = [p.text for p in pieces[slug] if p.start <= place.start and place.end <= p.end]
        else:
            texts = [p.text for p in pieces[slug] if collapsed(quote) in collapsed(p.text)]
        holding[key] = texts
    return holding


def _lexemes(texts: list[str]) -> list[set[str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tsvector_to_array(to_tsvector(%s::regconfig, t)) "
            "FROM unnest(%s::text[]) WITH ORDINALITY AS x(t, n) ORDER BY n",
            [settings.SEARCH_CONFIG, texts],
        )
        return [set(row[0]) for row in cursor.fetchall()]


@pytest.mark.django_db
def test_paraphrases_share_no_lexeme_with_their_answers_passages_and_the_others_do(evaluation):
    holding = _answer_passages(evaluation)
    assert all(holding.values()), "every quote lies whole in a passage"
    questions = list(evaluation.questions)
    asked = _lexemes([q.question for q in questions])

    sharing, not_sharing = [], []
    for question, words in zip(questions, asked, strict=True):
        texts = [t for a in question.answers for t in holding[(a.source, a.quote)]]
        shared = set().union(*(words & other for other in _lexemes(texts)))
        (sharing if shared else not_sharing).append((question.id, sorted(shared)))

    paraphrases = {q.id for q in questions if q.paraphrase}
    assert [(i, w) for i, w in sharing if i in paraphrases] == []
    assert [i for i, _ in not_sharing if i not in paraphrases] == []
