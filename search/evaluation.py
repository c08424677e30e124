"""How often search finds the passage that answers a question: recall@5 and MRR per mode,
on an evaluation set of sources and questions.

A set is a directory (the repository's is ``tests/benchmarks/retrieval/``, described in its
README): ``sources-*.json`` (``slug``, ``type`` lecture|document, ``title``, ``course``),
``lectures/<slug>.vtt`` (captions), ``documents/<slug>.txt`` (pages separated by a
form-feed line) and ``questions-*.json`` (``id``, ``question``, ``answers``: ``source`` and
an exact ``quote``, ``paraphrase``).

``evaluate`` loads the set for a user of its own through the service's own paths (captions
parsed as a captions upload is, page text as the text job stores it, passages built and
embedded as the jobs do), asks every question in every mode through ``search_material``,
and rolls everything back: nothing of it stays in the database, whatever the provider.

An answer is found when a result points at it: a lecture result whose span holds the
quoted cue, a document result on the quoted page. Recall@5 counts, per question, the share
of its answers found in the first five results; MRR the inverse rank of the first result
that finds one (first ten results; 0 when none does).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from accounts.models import User
from core.fulltext import vector_of
from courses.models import Course, Enrollment
from documents.models import Document, DocumentPage, DocumentText, TextStatus
from lectures.models import Lecture, LectureLink, LectureStatus
from search.models import Passage
from search.passages import passages_rebuild_document, passages_rebuild_lecture
from search.provider import EmbeddingsClient, embeddings_settings
from search.selectors import search_material
from search.services import embeddings_enabled
from transcripts.captions import VTT, parse_captions
from transcripts.models import Transcript, TranscriptSegment, TranscriptStatus

MODES = ("text", "semantic", "hybrid")
RECALL_AT = 5
MRR_AT = 10
_SPACES = re.compile(r"\s+")


class EvaluationError(Exception):
    """The set cannot be read; ``str()`` says where."""


@dataclass(frozen=True)
class Answer:
    source: str
    quote: str


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[Answer, ...]
    paraphrase: bool


@dataclass(frozen=True)
class Source:
    slug: str
    type: str
    title: str
    course: str
    path: Path


@dataclass(frozen=True)
class Place:
    """Where a quote is: a cue's span (lectures) or a page (documents)."""

    start: float | None = None
    end: float | None = None
    page: int | None = None


@dataclass
class Score:
    mode: str
    questions: int = 0
    recall: float = 0.0
    reciprocal_ranks: float = 0.0
    ran_as: set[str] = field(default_factory=set)  # the mode the answers said ran
    degraded: int = 0

    @property
    def recall_at_5(self) -> float:
        return self.recall / self.questions if self.questions else 0.0

    @property
    def mrr(self) -> float:
        return self.reciprocal_ranks / self.questions if self.questions else 0.0


@dataclass(frozen=True)
class EvaluationSet:
    sources: tuple[Source, ...]
    questions: tuple[Question, ...]


def collapsed(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def load_set(directory: Path) -> EvaluationSet:
    """The sources and questions of the set in ``directory``, checked to fit together."""
    directory = Path(directory)
    sources: list[Source] = []
    for path in sorted(directory.glob("sources-*.json")):
        for item in _json(path):
            folder = "lectures" if item["type"] == "lecture" else "documents"
            suffix = ".vtt" if item["type"] == "lecture" else ".txt"
            sources.append(
                Source(
                    slug=item["slug"],
                    type=item["type"],
                    title=item["title"],
                    course=item["course"],
                    path=directory / folder / f"{item['slug']}{suffix}",
                )
            )
    questions = [
        Question(
            id=item["id"],
            question=item["question"],
            answers=tuple(Answer(a["source"], a["quote"]) for a in item["answers"]),
            paraphrase=bool(item.get("paraphrase")),
        )
        for path in sorted(directory.glob("questions-*.json"))
        for item in _json(path)
    ]
    slugs = {source.slug for source in sources}
    if not sources or not questions:
        raise EvaluationError(f"{directory} holds no sources-*.json or no questions-*.json")
    for question in questions:
        for answer in question.answers:
            if answer.source not in slugs:
                raise EvaluationError(f"question {question.id} names no source {answer.source}")
    return EvaluationSet(tuple(sources), tuple(questions))


def _json(path: Path) -> list[dict]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise EvaluationError(f"{path}: {error}") from None


def source_pages(source: Source) -> list[str]:
    return [page.strip("\n") for page in source.path.read_text().split("\f")]


def answer_places(evaluation: EvaluationSet) -> dict[tuple[str, str], Place]:
    """Where each quoted answer is in its source."""
    by_slug = {source.slug: source for source in evaluation.sources}
    places: dict[tuple[str, str], Place] = {}
    for question in evaluation.questions:
        for answer in question.answers:
            source = by_slug[answer.source]
            quote = collapsed(answer.quote)
            if source.type == "lecture":
                cues = parse_captions(source.path.read_bytes(), VTT)
                found = [Place(start=c.start, end=c.end) for c in cues if quote in c.text]
            else:
                found = [
                    Place(page=number)
                    for number, text in enumerate(source_pages(source), start=1)
                    if quote in collapsed(text)
                ]
            if not found:
                raise EvaluationError(
                    f"question {question.id}: {answer.quote!r} is not in {source.slug}"
                )
            places[(answer.source, answer.quote)] = found[0]
    return places


# --- Loading the set --------------------------------------------------------------------------


def _load(evaluation: EvaluationSet, user: User) -> dict[uuid.UUID, str]:
    """The set's sources as this user's lectures and documents; their ids → slugs."""
    courses: dict[str, Course] = {}
    ids: dict[uuid.UUID, str] = {}
    for source in evaluation.sources:
        course = courses.get(source.course)
        if course is None:
            course = Course.objects.create(
                code=f"EVAL {uuid.uuid4().hex[:8]}", title=source.course, created_by=user
            )
            Enrollment.objects.create(user=user, course=course)
            courses[source.course] = course
        if source.type == "lecture":
            ids[_lecture(source, course, user).id] = source.slug
        else:
            ids[_document(source, course, user).id] = source.slug
    return ids


def _lecture(source: Source, course: Course, user: User) -> Lecture:
    cues = parse_captions(source.path.read_bytes(), VTT)
    lecture = Lecture.objects.create(
        course=course,
        title=source.title,
        source=Lecture.Source.UPLOAD,
        status=LectureStatus.COMPLETED,
        progress=100,
    )
    LectureLink.objects.create(user=user, lecture=lecture)
    Transcript.objects.create(
        lecture=lecture,
        status=TranscriptStatus.COMPLETED,
        source="captions",
        segment_count=len(cues),
    )
    TranscriptSegment.insert(
        [
            TranscriptSegment.of(
                lecture_id=lecture.id, index=i, start=c.start, end=c.end, text=c.text
            )
            for i, c in enumerate(cues)
        ],
    )
    passages_rebuild_lecture(lecture_id=lecture.id)
    return lecture


def _document(source: Source, course: Course, user: User) -> Document:
    pages = source_pages(source)
    digest = hashlib.sha256(source.path.read_bytes()).hexdigest()
    document = Document.objects.create(
        owner=user,
        course=course,
        original_filename=source.title,
        size_bytes=source.path.stat().st_size,
        sha256=digest,
        storage_key=f"evaluation/{digest}",  # never read: the text is the set's
    )
    DocumentText.objects.update_or_create(
        document=document,
        defaults={"status": TextStatus.COMPLETED, "page_count": len(pages), "progress": 100},
    )
    DocumentPage.objects.bulk_create(
        DocumentPage(
            document=document,
            owner=user,
            number=number,
            text=text,
            search_vector=vector_of(text),
        )
        for number, text in enumerate(pages, start=1)
    )
    passages_rebuild_document(document_id=document.id)
    return document


def _embed_all(batch_size: int) -> int:
    """Every passage of the set embedded by the configured provider, in batches."""
    provider = embeddings_settings()
    passages = list(Passage.objects.filter(embedding_model="").only("id", "text"))
    with EmbeddingsClient(provider) as client:
        for first in range(0, len(passages), batch_size):
            batch = passages[first : first + batch_size]
            for passage, vector in zip(batch, client.embed([p.text for p in batch]), strict=True):
                passage.embedding = vector
                passage.embedding_model = provider.space
            Passage.objects.bulk_update(batch, ["embedding", "embedding_model"])
    return len(passages)


# --- Asking the questions -----------------------------------------------------------------------


def _finds(hit, answer: Answer, place: Place, slugs: dict[uuid.UUID, str]) -> bool:
    if slugs.get(hit.id) != answer.source:
        return False
    if place.page is not None:
        return hit.page == place.page
    return hit.start is not None and hit.start <= place.start and place.end <= hit.end


def _score(
    score: Score,
    question: Question,
    hits: Sequence,
    places: dict[tuple[str, str], Place],
    slugs: dict[uuid.UUID, str],
) -> None:
    found = [
        answer
        for answer in question.answers
        if any(
            _finds(hit, answer, places[(answer.source, answer.quote)], slugs)
            for hit in hits[:RECALL_AT]
        )
    ]
    score.questions += 1
    score.recall += len(found) / len(question.answers)
    for rank, hit in enumerate(hits[:MRR_AT], start=1):
        if any(
            _finds(hit, answer, places[(answer.source, answer.quote)], slugs)
            for answer in question.answers
        ):
            score.reciprocal_ranks += 1 / rank
            break


class _RolledBack(Exception):
    pass


def evaluate(
    evaluation: EvaluationSet,
    *,
    modes: Iterable[str] = MODES,
    subsets: bool = True,
    batch_size: int = 64,
) -> dict[str, Score]:
    """Scores per mode (and, with ``subsets``, per mode on the paraphrases only, as
    ``"<mode> paraphrase"`` and the rest as ``"<mode> shared words"``). Semantic and
    hybrid need embeddings on; without them they run as text and ``ran_as`` says so."""
    places = answer_places(evaluation)
    scores: dict[str, Score] = {}
    try:
        with transaction.atomic():
            user = User.objects.create(username=f"evaluation-{uuid.uuid4()}")
            slugs = _load(evaluation, user)
            if embeddings_enabled():
                _embed_all(batch_size)
            for mode in modes:
                for question in evaluation.questions:
                    page = search_material(
                        user=user, q=question.question, mode=mode, limit=10, offset=0
                    )
                    keys = [mode]
                    if subsets:
                        keys.append(
                            f"{mode} {'paraphrase' if question.paraphrase else 'shared words'}"
                        )
                    for key in keys:
                        score = scores.setdefault(key, Score(mode=key))
                        score.ran_as.add(page.mode)
                        score.degraded += bool(page.degraded)
                        _score(score, question, page.hits, places, slugs)
            raise _RolledBack
    except _RolledBack:
        pass
    return scores
