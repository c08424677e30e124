"""The user pages show what each user uses; a deleted user takes their documents and the
lectures only they had; the deletion log is there to read, not edit."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import DeletedClerkUser, WebhookDelivery
from core.storage import storage_exists
from documents.models import Document
from lectures.models import Lecture, LectureLink
from tests.admin_helpers import DocumentFactory, completed_lecture, stored_document
from tests.factories import EnrollmentFactory, UserFactory
from tests.lectures.factories import LectureLinkFactory

pytestmark = pytest.mark.django_db


def user_with_things(documents: int, lectures: int):
    user = UserFactory()
    EnrollmentFactory(user=user)
    DocumentFactory.create_batch(documents, owner=user, size_bytes=1024 * 1024)
    LectureLinkFactory.create_batch(lectures, user=user)
    return user


def queries(client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries), response.content.decode()


def test_the_user_list_shows_documents_storage_and_lectures(staff_client):
    user = user_with_things(documents=3, lectures=2)

    _, html = queries(
        staff_client, reverse("admin:accounts_user_changelist") + f"?q={user.clerk_id}"
    )

    assert '<td class="field-document_count">3</td>' in html
    assert '<td class="field-document_storage">3.0\xa0MB</td>' in html
    assert '<td class="field-lecture_count">2</td>' in html


def test_the_user_list_runs_as_many_queries_for_many_users_with_many_things(staff_client):
    url = reverse("admin:accounts_user_changelist")
    user_with_things(documents=1, lectures=1)
    few = queries(staff_client, url)[0]

    for _ in range(10):
        user_with_things(documents=4, lectures=3)

    assert queries(staff_client, url)[0] == few


def test_the_change_page_shows_the_usage_in_constant_queries(staff_client):
    small = user_with_things(documents=1, lectures=1)
    large = user_with_things(documents=20, lectures=15)
    staff_client.get(reverse("admin:accounts_user_change", args=[small.pk]))  # warm caches

    small_queries, _ = queries(staff_client, reverse("admin:accounts_user_change", args=[small.pk]))
    large_queries, html = queries(
        staff_client, reverse("admin:accounts_user_change", args=[large.pk])
    )

    assert large_queries == small_queries
    assert "20.0\xa0MB" in html
    assert '<div class="readonly">15</div>' in html


def test_the_deletion_log_is_listed_but_cannot_be_changed(staff_client):
    remembered = DeletedClerkUser.objects.create(clerk_id="user_gone", deleted_at_ms=1)
    delivery = WebhookDelivery.objects.create(
        svix_id="msg_1", event_type="user.deleted", clerk_id="user_gone", outcome="deleted"
    )

    for model, obj in [("deletedclerkuser", remembered), ("webhookdelivery", delivery)]:
        changelist = staff_client.get(reverse(f"admin:accounts_{model}_changelist"))
        assert changelist.status_code == 200
        assert "user_gone" in changelist.content.decode()
        change = staff_client.get(reverse(f"admin:accounts_{model}_change", args=[obj.pk]))
        assert change.status_code == 200
        assert 'type="submit"' not in change.content.decode().split('id="content-main"')[1]
        assert staff_client.get(reverse(f"admin:accounts_{model}_add")).status_code == 403
        assert (
            staff_client.post(reverse(f"admin:accounts_{model}_delete", args=[obj.pk])).status_code
            == 403
        )


def test_deleting_a_user_removes_their_documents_and_unshared_lectures_with_files(
    staff_client, django_capture_on_commit_callbacks
):
    document = stored_document()
    student = document.owner
    shared = completed_lecture()
    LectureLinkFactory(lecture=shared, user=student)
    classmate_link = LectureLinkFactory(lecture=shared)
    only_theirs = completed_lecture()
    LectureLinkFactory(lecture=only_theirs, user=student)
    url = reverse("admin:accounts_user_delete", args=[student.pk])

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert not Document.objects.exists()
    assert not storage_exists(document.storage_key)
    assert Lecture.objects.filter(pk=shared.pk).exists()
    assert list(LectureLink.objects.all()) == [classmate_link]
    assert storage_exists(shared.audio_storage_key)
    # A lecture nobody is linked to any more goes, audio and all.
    assert not Lecture.objects.filter(pk=only_theirs.pk).exists()
    assert not storage_exists(only_theirs.audio_storage_key)
