"""Staff in the admin: a logged-in test client, and rows whose files really are stored."""

from __future__ import annotations

import hashlib
import io
import uuid

import factory
import pytest
from django.test import Client
from django.utils import timezone

from core.storage import storage_save
from documents.models import Document, document_storage_key
from lectures.models import Lecture, audio_storage_key
from tests.factories import CourseFactory, UserFactory
from tests.lectures.factories import LectureFactory


class DocumentFactory(factory.django.DjangoModelFactory):
    """A document row; ``stored_document`` also writes its file."""

    class Meta:
        model = Document

    id = factory.LazyFunction(uuid.uuid4)
    owner = factory.SubFactory(UserFactory)
    course = factory.SubFactory(CourseFactory)
    original_filename = factory.Sequence(lambda n: f"notes-{n}.pdf")
    size_bytes = 1024
    sha256 = factory.LazyFunction(lambda: hashlib.sha256(uuid.uuid4().bytes).hexdigest())
    storage_key = factory.LazyAttribute(lambda document: document_storage_key(document.id))


def stored_document(**fields) -> Document:
    """A document whose PDF bytes are in storage under its key."""
    data = b"%PDF-1.7\n" + uuid.uuid4().hex.encode() + b"\n%%EOF\n"
    document = DocumentFactory(
        size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(), **fields
    )
    storage_save(document.storage_key, io.BytesIO(data))
    return document


def completed_lecture(audio: bytes | None = None, **fields) -> Lecture:
    """A completed lecture whose .m4a (``audio``, else a few bytes that start like one) is
    in storage under its key."""
    lecture = LectureFactory(**fields)
    data = audio or b"\x00\x00\x00\x20ftypM4A " + uuid.uuid4().bytes * 64
    key = audio_storage_key(lecture.id)
    storage_save(key, io.BytesIO(data))
    lecture.status = Lecture.Status.COMPLETED
    lecture.progress = 100
    lecture.audio_storage_key = key
    lecture.audio_size_bytes = len(data)
    lecture.duration_seconds = 3725.0
    lecture.completed_at = timezone.now()
    lecture.save()
    return lecture


def failed_lecture(**fields) -> Lecture:
    defaults = {
        "status": Lecture.Status.FAILED,
        "error_message": "The source answered HTTP 403: the stream URL has probably expired.",
        "attempt_count": 1,
    }
    return LectureFactory(**{**defaults, **fields})


@pytest.fixture
def staff(db):
    return UserFactory(
        username="staff", email="staff@example.com", clerk_id=None, is_staff=True, is_superuser=True
    )


@pytest.fixture
def staff_client(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client
