"""A real gunicorn server for the fuzzer, and a world in it whose ids resolve."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import schemathesis
from django.utils import timezone

from documents.models import Document, document_storage_key
from lectures.models import Lecture, LectureLink, audio_storage_key
from tests.auth import ISSUER, SPA_ORIGIN, session_claims, sign
from tests.documents.helpers import make_pdf
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory
from tests.lectures.factories import LectureFactory
from tests.live_server import LiveServer

# A public address literal that the fuzzer's stream URLs may name: validation accepts it
# without DNS, and no worker runs, so nothing is ever fetched from it.
STREAM_HOST = "93.184.216.34"
FUZZ_USER = "user_fuzzer"


@pytest.fixture(scope="module")
def fuzz_media(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz-media")


@pytest.fixture(scope="module")
def fuzz_server(django_db_setup, django_db_blocker, clerk_key, fuzz_media, tmp_path_factory):
    """gunicorn as in production (DEBUG off), the Clerk key of the session, dev routes on,
    the fuzzing user an API admin (so the admin-only paths are fuzzed too)."""
    env = {
        "MEDIA_ROOT": str(fuzz_media),
        "CLERK_JWT_KEY": clerk_key.public_pem,
        "CLERK_ISSUER": ISSUER,
        "CLERK_AUTHORIZED_PARTIES": SPA_ORIGIN,
        "ADMIN_USER_IDS": FUZZ_USER,
        "DEV_ROUTES_ENABLED": "true",
        "PANOPTO_ALLOWED_HOSTS": f"panopto.com,{STREAM_HOST}",
        "DOCUMENT_MAX_BYTES": str(64 * 1024),
        # Every example reaches the view: 40 examples per operation would pass 60/hour.
        "RATE_LECTURE_REQUESTS": "100000/hour",
        "RATE_DOCUMENT_UPLOADS": "100000/hour",
    }
    log = tmp_path_factory.mktemp("fuzz-server") / "gunicorn.log"
    with django_db_blocker.unblock():
        server = LiveServer(env, log).wait_ready()
    yield server
    server.stop()


@dataclass
class World:
    """What the fuzzing user owns (and what someone else owns), by kind of id."""

    token: str
    course_ids: list[str] = field(default_factory=list)
    enrolled_course_ids: list[str] = field(default_factory=list)
    lecture_ids: list[str] = field(default_factory=list)
    document_ids: list[str] = field(default_factory=list)

    def ids_for(self, path: str) -> list[str]:
        if path.startswith("/api/courses"):
            return self.course_ids
        if path.startswith("/api/lectures"):
            return self.lecture_ids
        if path.startswith("/api/documents"):
            return self.document_ids
        return []


def _store(media: Path, key: str, data: bytes) -> None:
    path = media / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _document(owner, course, media: Path) -> Document:
    pdf = make_pdf()
    document_id = uuid.uuid4()
    key = document_storage_key(document_id)
    _store(media, key, pdf)
    return Document.objects.create(
        id=document_id,
        owner=owner,
        course=course,
        original_filename="Week 1 — slides.pdf",
        size_bytes=len(pdf),
        sha256=hashlib.sha256(pdf).hexdigest(),
        storage_key=key,
    )


@pytest.fixture
def world(transactional_db, clerk_key, fuzz_media) -> World:
    """The fuzzing user enrolled in a course with lectures in every state and documents;
    another user's course, lecture and document beside them."""
    user = UserFactory(clerk_id=FUZZ_USER, username="fuzzer")
    other = UserFactory(clerk_id="user_other", username="other")
    course = EnrollmentFactory(user=user).course
    catalogue_course = CourseFactory(is_official=True)
    other_course = EnrollmentFactory(user=other).course

    lectures = []
    # The fuzzer favours small indexes: the lectures with the most behind them come first.
    statuses = [Lecture.Status.COMPLETED, Lecture.Status.FAILED, Lecture.Status.QUEUED]
    statuses += [s for s in Lecture.Status.values if s not in statuses]
    for status in statuses:
        lecture = LectureFactory(course=course, status=status)
        if status == Lecture.Status.COMPLETED:
            audio = os.urandom(4096)
            key = audio_storage_key(lecture.id)
            _store(fuzz_media, key, audio)
            lecture.audio_storage_key = key
            lecture.audio_size_bytes = len(audio)
            lecture.progress = 100
            lecture.duration_seconds = 12.5
            lecture.completed_at = timezone.now()
            lecture.save()
        elif status == Lecture.Status.FAILED:
            lecture.error_message = "the source answered HTTP 403"
            lecture.save()
        LectureLink.objects.create(user=user, lecture=lecture)
        lectures.append(lecture)
    others_lecture = LectureFactory(course=other_course)
    LectureLink.objects.create(user=other, lecture=others_lecture)

    documents = [_document(user, course, fuzz_media) for _ in range(2)]
    others_document = _document(other, other_course, fuzz_media)

    claims = session_claims(FUZZ_USER, exp=int(time.time()) + 3600)
    return World(
        token=sign(claims, clerk_key),
        course_ids=[str(c.id) for c in (course, catalogue_course, other_course)],
        enrolled_course_ids=[str(course.id)],
        lecture_ids=[str(lecture.id) for lecture in [*lectures, others_lecture]],
        document_ids=[str(d.id) for d in [*documents, others_document]],
    )


@pytest.fixture(scope="module")
def served_schema(fuzz_server):
    """The OpenAPI document as the running server serves it, loaded by schemathesis."""
    return schemathesis.openapi.from_url(f"{fuzz_server.url}/api/schema?format=json")
