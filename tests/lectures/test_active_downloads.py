"""USER_ACTIVE_DOWNLOADS: a new lecture is refused while the user already created that many
still queued or running; joining an existing lecture always works."""

from __future__ import annotations

import uuid

import pytest

from lectures.models import Lecture, LectureLink
from tests.concurrency import run_concurrently
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory
from tests.lectures.factories import LectureFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lecture_settings")]

STREAM = "http://127.0.0.1:9/sessions/lecture.mp4"


def viewer(session: uuid.UUID) -> str:
    return f"https://rochester.hosted.panopto.com/Panopto/Pages/Viewer.aspx?id={session}"


def request_new(client, course, session: uuid.UUID | None = None):
    body = {
        "course_id": str(course.id),
        "panopto_url": viewer(session or uuid.uuid4()),
        "stream_url": STREAM,
    }
    return client.post("/api/lectures/download", body, format="json")


@pytest.fixture
def course(alice):
    return EnrollmentFactory(user=alice, course=CourseFactory()).course


def test_a_new_download_past_the_cap_is_429_and_creates_nothing(alice_client, course, settings):
    settings.USER_ACTIVE_DOWNLOADS = 2
    assert [request_new(alice_client, course).status_code for _ in range(2)] == [202, 202]

    response = request_new(alice_client, course)

    assert response.status_code == 429
    assert response.json() == {
        "detail": "You already have 2 lecture downloads in progress; try again when one has "
        "finished.",
        "code": "too_many_active_downloads",
    }
    assert Lecture.objects.count() == 2


def test_joining_an_existing_lecture_is_allowed_at_the_cap(
    alice_client, alice, course, settings, bob
):
    settings.USER_ACTIVE_DOWNLOADS = 1
    EnrollmentFactory(user=bob, course=course)
    theirs = LectureFactory(course=course, created_by=bob)
    assert request_new(alice_client, course).status_code == 202

    response = request_new(alice_client, course, session=uuid.UUID(theirs.panopto_session_id))

    assert response.status_code == 200
    assert LectureLink.objects.filter(user=alice, lecture=theirs).exists()


@pytest.mark.parametrize("status", [Lecture.Status.COMPLETED, Lecture.Status.FAILED])
def test_finished_lectures_do_not_count(alice_client, alice, course, settings, status):
    settings.USER_ACTIVE_DOWNLOADS = 1
    LectureFactory(course=course, created_by=alice, status=status)

    assert request_new(alice_client, course).status_code == 202


def test_running_lectures_count(alice_client, alice, course, settings):
    settings.USER_ACTIVE_DOWNLOADS = 1
    LectureFactory(course=course, created_by=alice, status=Lecture.Status.DOWNLOADING)

    assert request_new(alice_client, course).status_code == 429


def test_another_users_downloads_do_not_count(alice_client, course, settings, bob):
    settings.USER_ACTIVE_DOWNLOADS = 1
    LectureFactory(course=course, created_by=bob)

    assert request_new(alice_client, course).status_code == 202


def test_concurrent_new_downloads_cannot_pass_the_cap_together(
    transactional_db, client_for, settings
):
    settings.USER_ACTIVE_DOWNLOADS = 2
    user = UserFactory()
    course = EnrollmentFactory(user=user).course
    clients = [client_for(user) for _ in range(6)]

    responses = run_concurrently(6, lambda i: request_new(clients[i], course))

    assert sorted(r.status_code for r in responses) == [202, 202, 429, 429, 429, 429]
    assert Lecture.objects.filter(created_by=user).count() == 2
