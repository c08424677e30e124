"""The search benchmark's data set: 11 users, each with 5 courses, 500 documents
of 20 pages (10 000 pages a user, 110 000 in all) and 200 one-hour lectures with their
transcripts (~500 segments a lecture: ~100 000 segments a user, ~1.1 M in all), written
straight into the bench database. Each lecture is linked to its user only.

Texts are drawn from a Zipf-like vocabulary: English stop words at the top, then course
words (``TOPIC_WORDS``) spread through the ranks among generated words. A page has ~150
words; a segment 4 to 10 seconds of speech at 2.5 words a second (~18 words), cut into
sentences, one segment in 50 with a term of two words (``PHRASES``, as lecturers repeat
them). Generating the texts and their vectors takes about a minute and a half, so the pages
and the segments (text and ``tsvector``) are cached under ``var/bench/search/`` as
PostgreSQL COPY files and loaded with COPY in the runs after; users, courses, documents,
lectures, their transcripts and links (a few tens of thousands of rows) are inserted each
run with the same ids. The GIN indexes of the pages and the segments are dropped during
the load and built again after it (faster than growing them row by row).
"""

from __future__ import annotations

import itertools
import random
import uuid
from pathlib import Path

USERS = 11
COURSES_PER_USER = 5
DOCUMENTS_PER_USER = 500
PAGES_PER_DOCUMENT = 20
WORDS_PER_PAGE = 150
VERSION = 2
LECTURES_PER_USER = 200
LECTURE_SECONDS = 3600.0
SEGMENT_SECONDS = (4.0, 10.4)  # ~7.2 s on average: ~500 segments an hour
WORDS_PER_SECOND = 2.5
SEGMENTS_VERSION = 1


def _words(text: str) -> list[str]:
    return text.split()


STOP_WORDS = _words(
    "the of and a to in is that for it as with was on be by this are or an at from which "
    "we can its not have has but these if one more than when there also so each all"
)
TOPIC_WORDS = _words(
    "matrix vector array eigenvalue determinant integral derivative theorem proof lemma "
    "recursion tree graph binary search sorting algorithm complexity polynomial function "
    "limit series converge probability distribution variance entropy network protocol "
    "compiler parser grammar automaton memory cache process thread kernel scheduling "
    "database index transaction query optimization gradient descent regression classifier "
    "neural layer activation energy momentum velocity acceleration force field charge "
    "circuit voltage resistance capacitor frequency signal transform fourier laplace "
    "equation differential linear nonlinear stability equilibrium reaction molecule "
    "protein enzyme cell membrane evolution population ecology market demand supply price"
)
# Terms of more than one word, as lecturers repeat them: one in 50 segments has one.
PHRASES = (
    "binary search",
    "gradient descent",
    "neural network",
    "linear regression",
    "fourier transform",
    "differential equation",
    "probability distribution",
    "search tree",
)
PHRASE_SHARE = 0.02
SYLLABLES = _words("ka lo mi nu pe ra si to vu ze bar den fil gor han jut kel mon nep rus tal vin")


def _vocabulary(rng: random.Random) -> list[str]:
    generated = {
        "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(40_000)
    }
    words = sorted(generated)
    rng.shuffle(words)
    # Course words at ranks 60, 80, 100, … : common enough to match many pages.
    for position, word in enumerate(TOPIC_WORDS):
        words.insert(60 + 20 * position, word)
    return STOP_WORDS + words


def _cumulative_weights(count: int) -> list[float]:
    return list(itertools.accumulate(1.0 / (rank + 2) for rank in range(count)))


def rare_word() -> str:
    """A generated word that occurs on a handful of pages of the set."""
    vocabulary = _vocabulary(random.Random(12))
    return vocabulary[len(vocabulary) // 3]


def common_word() -> str:
    """The most frequent generated word that is not a stop word: on a few per cent of the
    segments and a fifth of the pages."""
    return _vocabulary(random.Random(12))[len(STOP_WORDS)]


def user_ids() -> list[str]:
    return [f"user_bench_search_{n:02d}" for n in range(USERS)]


def user_uuids() -> list[uuid.UUID]:
    """The users' primary keys, the same every run (the cached pages name their owner)."""
    rng = random.Random(5)
    return [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(USERS)]


def document_ids() -> list[list[uuid.UUID]]:
    """Each user's document ids, the same every run."""
    rng = random.Random(7)
    return [
        [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(DOCUMENTS_PER_USER)]
        for _ in range(USERS)
    ]


def course_ids() -> list[list[uuid.UUID]]:
    """Each user's course ids, the same every run."""
    rng = random.Random(9)
    return [
        [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(COURSES_PER_USER)]
        for _ in range(USERS)
    ]


def lecture_ids() -> list[list[uuid.UUID]]:
    """Each user's lecture ids, the same every run (the cached segments name them)."""
    rng = random.Random(11)
    return [
        [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(LECTURES_PER_USER)]
        for _ in range(USERS)
    ]


def _page_texts(rng: random.Random, count: int):
    vocabulary = _vocabulary(random.Random(12))
    weights = _cumulative_weights(len(vocabulary))
    for _ in range(count):
        words = rng.choices(vocabulary, cum_weights=weights, k=WORDS_PER_PAGE)
        lines = [" ".join(words[i : i + 12]) for i in range(0, WORDS_PER_PAGE, 12)]
        yield ".\n".join(line.capitalize() for line in lines) + "."


def _segments(rng: random.Random, lecture_id: uuid.UUID, vocabulary, weights):
    """One lecture's transcript: ``(lecture_id, index, start, end, text)`` rows covering
    ``LECTURE_SECONDS``, each a few seconds of speech in sentences."""
    start, index = 0.0, 0
    while start < LECTURE_SECONDS:
        end = min(LECTURE_SECONDS, start + rng.uniform(*SEGMENT_SECONDS))
        count = max(1, round((end - start) * WORDS_PER_SECOND))
        words = rng.choices(vocabulary, cum_weights=weights, k=count)
        if rng.random() < PHRASE_SHARE:
            at = rng.randrange(len(words))
            words[at : at + 2] = rng.choice(PHRASES).split()
        # Sentences of ~10 words: a capital after each full stop, now and then a comma.
        parts, capital = [], index == 0 or rng.random() < 0.5
        for word in words:
            if capital:
                word = word.capitalize()
            capital = rng.random() < 0.1
            parts.append(word + ("." if capital else "," if rng.random() < 0.05 else ""))
        if not parts[-1].endswith("."):
            parts[-1] = parts[-1].rstrip(",") + ("." if rng.random() < 0.5 else "")
        yield (lecture_id, index, round(start, 2), round(end, 2), " ".join(parts))
        start, index = end, index + 1


def load(cache_dir: Path, config: str) -> dict[str, object]:
    """Users, courses, documents, lectures (with their transcripts and links) into the
    (Django-configured) bench database, then the pages and the segments from the cache,
    generating the cache first when it is not there. Returns the users' Clerk ids, the
    first user's courses and how long each step took."""
    import time

    from django.db import connection

    from accounts.models import User
    from courses.models import Course, Enrollment
    from documents.models import Document, DocumentText, TextStatus
    from lectures.models import Lecture, LectureLink
    from transcripts.models import Transcript

    timings: dict[str, float] = {}
    started = time.perf_counter()
    documents, lectures, links, transcripts = [], [], [], []
    owners = zip(user_ids(), user_uuids(), course_ids(), document_ids(), lecture_ids(), strict=True)
    for user_number, (clerk_id, user_id, courses, ids, lecture_numbers) in enumerate(owners):
        user = User.objects.create(
            id=user_id, username=str(user_id), clerk_id=clerk_id, email=f"{clerk_id}@example.com"
        )
        for course_number, course_id in enumerate(courses):
            course = Course.objects.create(
                id=course_id, code=f"SRCH {100 * user_number + course_number}", title="Search"
            )
            Enrollment.objects.create(user=user, course=course)
        documents += [
            Document(
                id=document_id,
                owner=user,
                course_id=courses[number % COURSES_PER_USER],
                original_filename=f"notes-{number}.pdf",
                size_bytes=100_000,
                sha256=uuid.UUID(int=document_id.int).hex * 2,
                storage_key=f"documents/{document_id}.pdf",
            )
            for number, document_id in enumerate(ids)
        ]
        for number, lecture_id in enumerate(lecture_numbers):
            lectures.append(
                Lecture(
                    id=lecture_id,
                    course_id=courses[number % COURSES_PER_USER],
                    source=Lecture.Source.UPLOAD,
                    title=f"Lecture {number + 1}",
                    status=Lecture.Status.COMPLETED,
                    progress=100,
                    duration_seconds=LECTURE_SECONDS,
                    audio_size_bytes=57_600_000,
                    audio_storage_key=f"audio/{lecture_id}.m4a",
                    created_by=user,
                )
            )
            links.append(LectureLink(user=user, lecture_id=lecture_id))
            transcripts.append(
                Transcript(lecture_id=lecture_id, status=Transcript.Status.COMPLETED, progress=100)
            )
    Document.objects.bulk_create(documents, batch_size=2000)
    DocumentText.objects.bulk_create(
        (
            DocumentText(
                document_id=document.id,
                status=TextStatus.COMPLETED,
                progress=100,
                page_count=PAGES_PER_DOCUMENT,
            )
            for document in documents
        ),
        batch_size=2000,
    )
    Lecture.objects.bulk_create(lectures, batch_size=2000)
    LectureLink.objects.bulk_create(links, batch_size=2000)
    Transcript.objects.bulk_create(transcripts, batch_size=2000)
    timings["rows_seconds"] = time.perf_counter() - started

    with connection.cursor() as cursor:
        timings |= _cached(
            cursor,
            cache_dir / f"pages-v{VERSION}-{config}.copy",
            "documents_documentpage",
            "document_id, owner_id, number, text, search_vector",
            lambda: _generate(cursor, [(d.id, d.owner_id) for d in documents], config),
            "pages",
            gin_index="document_page_search",
        )
        timings |= _cached(
            cursor,
            cache_dir / f"segments-v{SEGMENTS_VERSION}-{config}.copy",
            "transcripts_transcriptsegment",
            'lecture_id, index, start, "end", text, search_vector',
            lambda: _generate_segments(cursor, [lecture.id for lecture in lectures], config),
            "segments",
            gin_index="transcript_segment_search",
        )
        started = time.perf_counter()
        cursor.execute(
            "UPDATE transcripts_transcript SET segment_count = counts.n FROM ("
            "SELECT lecture_id, count(*) AS n FROM transcripts_transcriptsegment GROUP BY 1"
            ") AS counts WHERE counts.lecture_id = transcripts_transcript.lecture_id"
        )
        for table in (
            "documents_document",
            "documents_documenttext",
            "documents_documentpage",
            "lectures_lecture",
            "lectures_lecturelink",
            "transcripts_transcript",
            "transcripts_transcriptsegment",
        ):
            cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute("SELECT count(*) FROM transcripts_transcriptsegment")
        (segment_count,) = cursor.fetchone()
        timings["analyze_seconds"] = time.perf_counter() - started
    return {
        "users": user_ids(),
        "courses": [str(course) for course in course_ids()[0]],
        "segments": segment_count,
        **timings,
    }


def _cached(
    cursor, cache: Path, table: str, columns: str, generate, name: str, gin_index: str = ""
) -> dict[str, float]:
    """``table``'s rows from the COPY file ``cache``, or ``generate``d then saved there.
    A ``gin_index`` of the table is dropped meanwhile and built again after."""
    import time

    timings = {}
    definition = None
    if gin_index:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [gin_index])
        (definition,) = cursor.fetchone()
        cursor.execute(f'DROP INDEX "{gin_index}"')
    started = time.perf_counter()
    if not cache.exists():
        generate()
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(".partial")
        with (
            partial.open("wb") as out,
            cursor.copy(f"COPY {table} ({columns}) TO STDOUT") as copy,
        ):
            for data in copy:
                out.write(data)
        partial.rename(cache)
        timings[f"{name}_generate_seconds"] = time.perf_counter() - started
    else:
        with (
            cache.open("rb") as source,
            cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
        ):
            while chunk := source.read(1024 * 1024):
                copy.write(chunk)
        timings[f"{name}_load_seconds"] = time.perf_counter() - started
    if definition:
        started = time.perf_counter()
        cursor.execute("SET maintenance_work_mem = '256MB'")
        cursor.execute(definition)
        cursor.execute("RESET maintenance_work_mem")
        timings[f"{name}_index_seconds"] = time.perf_counter() - started
    return timings


def _generate_segments(cursor, lectures: list[uuid.UUID], config: str) -> None:
    """Texts into a temporary table by COPY, then into the segments with their vectors
    computed in SQL, as ``TranscriptSegment.insert`` has the database compute them (angle
    brackets given to the parser as ``core.fulltext.for_parser``'s stand-ins)."""
    rng = random.Random(4)
    vocabulary = _vocabulary(random.Random(12))
    weights = _cumulative_weights(len(vocabulary))
    cursor.execute(
        "CREATE TEMPORARY TABLE bench_segment (lecture_id uuid, index integer, "
        'start double precision, "end" double precision, text text)'
    )
    with cursor.copy("COPY bench_segment FROM STDIN") as copy:
        for lecture_id in lectures:
            for row in _segments(rng, lecture_id, vocabulary, weights):
                copy.write_row(row)
    cursor.execute(
        'INSERT INTO transcripts_transcriptsegment (lecture_id, index, start, "end", text, '
        'search_vector) SELECT lecture_id, index, start, "end", text, '
        "to_tsvector(%s::regconfig, translate(text, '<>', chr(14) || chr(15))) "
        "FROM bench_segment",
        [config],
    )
    cursor.execute("DROP TABLE bench_segment")


def _generate(cursor, documents: list[tuple[uuid.UUID, uuid.UUID]], config: str) -> None:
    """Texts into the table by COPY, then every vector in one UPDATE (as the job would
    write them: ``to_tsvector`` of the text)."""
    rng = random.Random(3)
    texts = _page_texts(rng, len(documents) * PAGES_PER_DOCUMENT)
    columns = "document_id, owner_id, number, text"
    with cursor.copy(f"COPY documents_documentpage ({columns}) FROM STDIN") as copy:
        for document_id, owner_id in documents:
            for number in range(1, PAGES_PER_DOCUMENT + 1):
                copy.write_row((document_id, owner_id, number, next(texts)))
    cursor.execute(
        "UPDATE documents_documentpage SET search_vector = to_tsvector(%s::regconfig, text)",
        [config],
    )


# ``(q, other parameters)``: words common and rare, several words, a phrase, an exclusion,
# ``or``, another form of a word, and the filters (``{course}``: the user's first course).
QUERIES: tuple[tuple[str, dict[str, str]], ...] = (
    ("{common}", {}),
    ("matrix", {}),
    ("{rare}", {}),
    ("eigenvalue determinant", {}),
    ('"binary search"', {}),
    ("integral -derivative", {}),
    ("vector or array", {}),
    ("Arrays", {}),
    ("gradient", {"type": "lecture"}),
    ("theorem proof", {"type": "document"}),
    ("matrix", {"course_id": "{course}"}),
    ("neural network gradient", {}),
)


def queries() -> list[tuple[str, dict[str, str]]]:
    words = {"{common}": common_word(), "{rare}": rare_word()}
    course = str(course_ids()[0][0])
    return [
        (
            words.get(q, q),
            {key: value.replace("{course}", course) for key, value in params.items()},
        )
        for q, params in QUERIES
    ]
