"""USER_DOCUMENT_QUOTA_BYTES: refused while streaming and again as the row is written; a
duplicate costs nothing; concurrent uploads cannot pass it together."""

from __future__ import annotations

import pytest

from documents.models import Document
from tests.concurrency import run_concurrently
from tests.documents.helpers import (
    StreamedUpload,
    assert_nothing_stored,
    make_pdf,
    stored_keys,
    stream_upload,
    upload,
    upload_temp_files,
)
from tests.factories import EnrollmentFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage_backend")]

QUOTA_BODY = {
    "detail": "This upload would take your documents past your storage quota.",
    "code": "quota_exceeded",
}


def test_an_upload_landing_exactly_on_the_quota_is_stored(alice_client, course, settings):
    first, second = make_pdf("first", padding=3000), make_pdf("second", padding=5000)
    settings.USER_DOCUMENT_QUOTA_BYTES = len(first) + len(second)
    assert upload(alice_client, course=course, content=first).status_code == 201

    response = upload(alice_client, course=course, content=second)

    assert response.status_code == 201
    assert Document.objects.count() == 2


def test_an_upload_past_the_quota_is_403_and_nothing_is_stored(alice_client, course, settings):
    first = make_pdf("first", padding=3000)
    settings.USER_DOCUMENT_QUOTA_BYTES = len(first) + 1000
    kept = upload(alice_client, course=course, content=first).json()

    response = upload(alice_client, course=course, content=make_pdf("second", padding=3000))

    assert response.status_code == 403
    assert response.json() == QUOTA_BODY
    assert list(Document.objects.values_list("id", flat=True)) == [Document.objects.get().id]
    assert str(Document.objects.get().id) == kept["id"]
    assert stored_keys() == [Document.objects.get().storage_key]
    assert upload_temp_files() == []


def test_a_duplicate_costs_nothing_even_at_the_quota(alice_client, course, settings):
    content = make_pdf("the only one", padding=3000)
    settings.USER_DOCUMENT_QUOTA_BYTES = len(content)
    created = upload(alice_client, course=course, content=content).json()

    again = upload(alice_client, course=course, content=content)

    assert again.status_code == 200
    assert again.json()["id"] == created["id"]
    assert Document.objects.count() == 1


def test_an_upload_past_the_quota_is_cut_off_while_it_streams(alice_client, course, settings):
    settings.USER_DOCUMENT_QUOTA_BYTES = 1024 * 1024
    body = StreamedUpload(course_id=str(course.id), file_size=20 * 1024 * 1024)

    response = stream_upload(alice_client, body)

    assert response.status_code == 403
    assert response.json() == QUOTA_BODY
    assert body.bytes_read <= len(body.head) + 1024 * 1024 + 128 * 1024
    assert_nothing_stored()


def test_another_users_documents_do_not_count(alice_client, course, settings, bob_client, bob):
    content = make_pdf("mine", padding=3000)
    settings.USER_DOCUMENT_QUOTA_BYTES = len(content)
    bob_course = EnrollmentFactory(user=bob).course
    assert upload(bob_client, course=bob_course, content=make_pdf("bob's")).status_code == 201

    assert upload(alice_client, course=course, content=content).status_code == 201


def test_concurrent_uploads_cannot_pass_the_quota_together(transactional_db, client_for, settings):
    user = UserFactory()
    course = EnrollmentFactory(user=user).course
    contents = [make_pdf(f"part {i}", padding=4000) for i in range(6)]
    assert len({len(c) for c in contents}) == 1
    # Room for two of them, not three.
    settings.USER_DOCUMENT_QUOTA_BYTES = 2 * len(contents[0]) + 100
    clients = [client_for(user) for _ in contents]

    responses = run_concurrently(
        len(contents), lambda i: upload(clients[i], course=course, content=contents[i])
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201, 201, 403, 403, 403, 403]
    stored = Document.objects.filter(owner=user)
    assert stored.count() == 2
    assert sorted(stored_keys()) == sorted(d.storage_key for d in stored)
    assert upload_temp_files() == []
