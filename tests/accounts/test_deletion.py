"""Removing a user's data: Clerk's ``user.deleted`` and ``DELETE /api/me`` do the same, but
only Clerk's deletion keeps the user's tokens out afterwards."""

from __future__ import annotations

import io
import threading
import uuid
from dataclasses import dataclass

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import DeletedClerkUser, User
from courses.models import Enrollment
from documents.models import Document, document_storage_key
from lectures.models import Lecture, LectureLink
from tests.accounts.clerk_events import SECRET, deleted_event, deliver
from tests.concurrency import run_concurrently
from tests.documents.helpers import make_pdf, sha256
from tests.factories import EnrollmentFactory, UserFactory
from tests.lectures.factories import LectureLinkFactory
from tests.lectures.test_api import completed_lecture
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db


@dataclass
class Belongings:
    """Alice's data, and a lecture she shares with Bob."""

    documents: list[Document]
    own_lecture: Lecture
    shared_lecture: Lecture
    bob: User

    def document_files(self) -> list[str]:
        return [d.storage_key for d in self.documents]


def stored_document(owner, course) -> Document:
    pdf = make_pdf()
    document_id = uuid.uuid4()
    key = default_storage.save(document_storage_key(document_id), ContentFile(pdf))
    return Document.objects.create(
        id=document_id,
        owner=owner,
        course=course,
        original_filename="notes.pdf",
        size_bytes=len(pdf),
        sha256=sha256(pdf),
        storage_key=key,
    )


@pytest.fixture
def alices(alice, bob) -> Belongings:
    course = EnrollmentFactory(user=alice).course
    EnrollmentFactory(user=bob, course=course)
    own_lecture = completed_lecture(alice)
    shared_lecture = completed_lecture(alice)
    LectureLinkFactory(user=bob, lecture=shared_lecture)
    documents = [stored_document(alice, course) for _ in range(2)]
    return Belongings(documents, own_lecture, shared_lecture, bob)


def assert_alices_data_is_gone(alices: Belongings, clerk_id: str = "user_alice") -> None:
    assert not User.objects.filter(clerk_id=clerk_id).exists()
    assert not Document.objects.filter(pk__in=[d.pk for d in alices.documents]).exists()
    assert not any(default_storage.exists(key) for key in alices.document_files())
    assert not Lecture.objects.filter(pk=alices.own_lecture.pk).exists()
    assert not default_storage.exists(alices.own_lecture.audio_storage_key)
    assert not Enrollment.objects.exclude(user=alices.bob).exists()


def assert_bob_keeps_his(alices: Belongings) -> None:
    shared = alices.shared_lecture
    assert list(LectureLink.objects.filter(lecture=shared).values_list("user", flat=True)) == [
        alices.bob.pk
    ]
    assert default_storage.exists(shared.audio_storage_key)
    assert Enrollment.objects.filter(user=alices.bob).count() == 1


# --- Clerk's user.deleted ------------------------------------------------------------------


@pytest.fixture
def deleted_in_clerk(settings, alices, django_capture_on_commit_callbacks) -> Belongings:
    settings.CLERK_WEBHOOK_SECRET = SECRET
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(APIClient(), deleted_event("user_alice"))
    assert response.status_code == 200
    return alices


def test_user_deleted_removes_their_documents_files_enrolments_and_lone_lectures(
    deleted_in_clerk,
):
    assert_alices_data_is_gone(deleted_in_clerk)


def test_user_deleted_leaves_a_shared_lecture_with_its_audio_to_the_other_user(deleted_in_clerk):
    assert_bob_keeps_his(deleted_in_clerk)


def test_a_still_valid_token_of_a_deleted_user_is_401_and_creates_no_user(
    deleted_in_clerk, alice_client
):
    response = alice_client.get("/api/me")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"detail": "invalid token", "code": "authentication_failed"}
    assert not User.objects.filter(clerk_id="user_alice").exists()


def test_other_users_tokens_still_work_after_a_deletion(deleted_in_clerk, bob_client):
    assert bob_client.get("/api/lectures").json()["count"] == 1


def test_files_whose_removal_failed_are_left_to_purge_orphans(
    settings, alices, django_capture_on_commit_callbacks, monkeypatch
):
    settings.CLERK_WEBHOOK_SECRET = SECRET
    real_delete = FileSystemStorage.delete
    failing = alices.documents[0].storage_key

    def flaky_delete(self, name):
        if name == failing:
            raise OSError("storage went away")
        return real_delete(self, name)

    monkeypatch.setattr(FileSystemStorage, "delete", flaky_delete)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(APIClient(), deleted_event("user_alice"))
    assert default_storage.exists(failing)  # the storage failed half-way
    assert not default_storage.exists(alices.documents[1].storage_key)
    monkeypatch.undo()

    call_command("purge_orphans", "--min-age", "0", stdout=io.StringIO())

    assert not default_storage.exists(failing)


def test_a_replayed_deletion_is_harmless(settings, alice):
    settings.CLERK_WEBHOOK_SECRET = SECRET
    payload = deleted_event("user_alice")
    deliver(APIClient(), payload, msg_id="msg_delete")

    response = deliver(APIClient(), payload, msg_id="msg_delete")

    assert response.json() == {"outcome": "already processed"}
    assert DeletedClerkUser.objects.filter(clerk_id="user_alice").count() == 1


# --- DELETE /api/me --------------------------------------------------------------------------


@pytest.fixture
def deleted_by_themselves(alices, alice_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.delete("/api/me")
    assert response.status_code == 204
    assert response.content == b""
    return alices


def test_delete_me_removes_the_callers_data_like_a_clerk_deletion(deleted_by_themselves):
    assert_alices_data_is_gone(deleted_by_themselves)
    assert_bob_keeps_his(deleted_by_themselves)


def test_after_delete_me_the_same_token_finds_a_new_empty_user(
    deleted_by_themselves, alice, alice_client
):
    response = alice_client.get("/api/me")

    assert response.status_code == 200
    body = response.json()
    assert body["clerk_id"] == "user_alice"
    assert body["id"] != str(alice.id)
    assert body["usage"] == {
        "courses": 0,
        "lectures": 0,
        "documents": 0,
        "document_bytes": 0,
        "embedded_passages": 0,
        "assistant_tokens_today": 0,
    }
    assert not DeletedClerkUser.objects.exists()


def test_delete_me_leaves_other_users_alone(client_for):
    alice, carol = UserFactory(), UserFactory()
    EnrollmentFactory(user=carol)

    client_for(alice).delete("/api/me")

    assert User.objects.filter(pk=carol.pk).exists()
    assert Enrollment.objects.filter(user=carol).exists()


def a_session_waits_on_a_lock() -> bool:
    """Some session of the test database is blocked on a lock (a row's or an advisory one)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # a fresh look, not the transaction's
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_a_first_request_caught_mid_creation_by_a_deletion_does_not_keep_its_user(
    transactional_db, settings, token_for, monkeypatch
):
    settings.CLERK_WEBHOOK_SECRET = SECRET
    token = token_for("user_racer")
    creating = threading.Event()
    set_unusable_password = User.set_unusable_password

    def slowly(user) -> None:
        # The first request has checked for a deletion and is about to insert its user: it
        # goes on once the deletion is waiting for it.
        creating.set()
        wait_until(a_session_waits_on_a_lock, message="the deletion did not wait for the creation")
        set_unusable_password(user)

    monkeypatch.setattr(User, "set_unusable_password", slowly)

    def work(i: int) -> int:
        if i == 0:
            return APIClient().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code
        assert creating.wait(10)
        return deliver(APIClient(), deleted_event("user_racer")).status_code

    assert run_concurrently(2, work) == [200, 200]
    # The deletion waited for the creation to finish, then deleted that user.
    assert not User.objects.filter(clerk_id="user_racer").exists()
    assert DeletedClerkUser.objects.filter(clerk_id="user_racer").exists()
