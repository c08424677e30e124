"""What the admin tests of every app share: rows whose files really are stored (a document,
a completed lecture with its audio, a failed lecture), and ways to open a page, run an action
and count a page's queries."""

from __future__ import annotations

import hashlib
import io
import uuid

import factory
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
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


def admin_url(model, page: str, *args) -> str:
    """``admin_url(Lecture, "change", pk)``: the admin page of ``model``."""
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}", args=args)


def run_action(client, url: str, action: str, objects, **extra):
    """Post the changelist ``url``'s ``action`` on ``objects``, following the redirect."""
    return client.post(
        url,
        {"action": action, ACTION_CHECKBOX_NAME: [str(obj.pk) for obj in objects], **extra},
        follow=True,
    )


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def query_count(client, url: str) -> int:
    """How many queries answering ``url`` (200) took."""
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
        assert response.status_code == 200
    return len(context.captured_queries)
