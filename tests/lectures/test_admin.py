"""The lecture admin: the list and the page (status, progress, users, the whole error, the
audio), retrying failed downloads, and every kind of delete takes the audio with it."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django_q.models import OrmQ

from core.storage import storage_exists
from lectures.models import Lecture, LectureLink
from lectures.services import TASK
from tests.admin_helpers import (
    admin_url,
    completed_lecture,
    failed_lecture,
    messages_of,
    query_count,
    run_action,
)
from tests.factories import UserFactory
from tests.lectures.factories import LectureFactory, LectureLinkFactory

pytestmark = pytest.mark.django_db

LECTURES = reverse("admin:lectures_lecture_changelist")


def _queued_lecture_ids() -> set[str]:
    jobs = list(OrmQ.objects.all())
    assert all(job.task["func"] == TASK for job in jobs)
    return {job.task["args"][0] for job in jobs}


def test_retry_queues_only_the_failed_lectures_and_says_how_many_were_skipped(
    staff_client, django_capture_on_commit_callbacks
):
    failed = [failed_lecture(), failed_lecture()]
    completed = completed_lecture()
    queued = LectureFactory()

    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(
            staff_client, LECTURES, "retry_download", [*failed, completed, queued]
        )

    assert response.status_code == 200
    assert messages_of(response) == [
        "Queued 2 lectures for download; skipped 2 that were not failed."
    ]
    for lecture in failed:
        lecture.refresh_from_db()
        assert (lecture.status, lecture.error_message, lecture.attempt_count) == ("queued", "", 0)
    assert Lecture.objects.get(pk=completed.pk).status == "completed"
    assert _queued_lecture_ids() == {str(lecture.id) for lecture in failed}


def test_retry_with_nothing_failed_queues_nothing_and_warns(
    staff_client, django_capture_on_commit_callbacks
):
    lecture = completed_lecture()

    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(staff_client, LECTURES, "retry_download", [lecture])

    assert messages_of(response) == [
        "Queued 0 lectures for download; skipped 1 that was not failed."
    ]
    assert not OrmQ.objects.exists()


def test_delete_with_audio_asks_first_and_lists_the_files(staff_client):
    lecture = completed_lecture()

    response = staff_client.post(
        LECTURES, {"action": "delete_with_audio", ACTION_CHECKBOX_NAME: [str(lecture.pk)]}
    )

    assert response.status_code == 200
    assert lecture.audio_storage_key in response.content.decode()
    assert Lecture.objects.filter(pk=lecture.pk).exists()
    assert storage_exists(lecture.audio_storage_key)


def test_delete_with_audio_removes_the_lectures_their_links_and_audio(
    staff_client, django_capture_on_commit_callbacks
):
    doomed = [completed_lecture(), completed_lecture(), failed_lecture()]
    LectureLinkFactory(lecture=doomed[0])
    kept = completed_lecture()

    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(staff_client, LECTURES, "delete_with_audio", doomed, post="yes")

    assert messages_of(response) == ["Deleted 3 lectures and 2 stored files."]
    assert list(Lecture.objects.all()) == [kept]
    assert not LectureLink.objects.exists()
    assert not any(storage_exists(lecture.audio_storage_key) for lecture in doomed[:2])
    assert storage_exists(kept.audio_storage_key)


def test_the_plain_delete_of_one_lecture_removes_its_audio(
    staff_client, django_capture_on_commit_callbacks
):
    lecture = completed_lecture()
    url = reverse("admin:lectures_lecture_delete", args=[lecture.pk])

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert not Lecture.objects.exists()
    assert not storage_exists(lecture.audio_storage_key)


def test_a_delete_that_rolls_back_keeps_the_files(
    staff_client, monkeypatch, django_capture_on_commit_callbacks
):
    """The files go after commit: a delete that fails part-way leaves rows and files alike."""
    lectures = [completed_lecture(), completed_lecture()]
    calls = []

    def delete_then_fail(*, lecture):
        calls.append(lecture.pk)
        lecture.delete()
        if len(calls) == 2:
            raise RuntimeError("database went away")

    monkeypatch.setattr("lectures.admin.lecture_delete", delete_then_fail)
    staff_client.raise_request_exception = False

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = run_action(staff_client, LECTURES, "delete_with_audio", lectures, post="yes")

    assert response.status_code == 500
    assert callbacks == []  # the rolled-back deletes scheduled no file removal
    assert Lecture.objects.count() == 2
    assert all(storage_exists(lecture.audio_storage_key) for lecture in lectures)


def test_a_lecture_link_cannot_be_moved_to_another_lecture(staff_client):
    link = LectureLinkFactory()
    other = LectureFactory()
    url = reverse("admin:lectures_lecturelink_change", args=[link.pk])

    staff_client.post(url, {"user": str(link.user_id), "lecture": str(other.pk)})

    link.refresh_from_db()
    assert link.lecture_id != other.pk


def test_the_lecture_page_shows_its_linked_users_and_its_whole_error(staff_client):
    lecture = failed_lecture(error_message="HTTP 403 from the source. " + "x" * 300 + " END")
    link = LectureLinkFactory(lecture=lecture, user=UserFactory(email="carol@example.com"))

    body = staff_client.get(admin_url(type(lecture), "change", lecture.pk)).content.decode()

    assert "carol@example.com" in body
    assert link.user.clerk_id in body
    assert "x" * 300 + " END" in body
    assert "secret" not in body  # the signed stream URL is never shown


def test_the_lecture_list_shows_status_course_users_duration_size_and_a_short_error(
    staff_client,
):
    lecture = completed_lecture()
    failed = failed_lecture(course=lecture.course, error_message="e" * 200)
    LectureLinkFactory.create_batch(3, lecture=lecture)

    body = staff_client.get(admin_url(type(lecture), "changelist")).content.decode()

    assert lecture.course.code in body
    assert "completed" in body and "failed" in body
    assert '<td class="field-linked_users_count">3</td>' in body
    assert "1:02:05" in body  # duration
    assert "e" * 59 + "…" in body and "e" * 61 not in body
    assert failed.title in body


def test_a_running_lecture_shows_its_progress(staff_client):
    lecture = failed_lecture()
    lecture.status, lecture.progress, lecture.error_message = "downloading", 42, ""
    lecture.save()

    body = staff_client.get(admin_url(type(lecture), "changelist")).content.decode()

    assert "downloading 42 %" in body


def test_staff_play_a_lecture_audio_from_its_page(staff_client):
    lecture = completed_lecture()
    audio_url = reverse("admin:lectures_lecture_audio", args=[lecture.pk])
    assert (
        audio_url
        in staff_client.get(admin_url(type(lecture), "change", lecture.pk)).content.decode()
    )

    response = staff_client.get(audio_url, HTTP_RANGE="bytes=0-11")

    assert response.status_code == 206
    assert response["Content-Type"] == "audio/mp4"
    assert b"".join(response.streaming_content) == b"\x00\x00\x00\x20ftypM4A "


def test_a_lecture_without_audio_has_no_audio_page(staff_client):
    lecture = failed_lecture()

    response = staff_client.get(reverse("admin:lectures_lecture_audio", args=[lecture.pk]))

    assert response.status_code == 404


def test_the_plain_bulk_delete_removes_the_audio(staff_client, django_capture_on_commit_callbacks):
    lectures = [completed_lecture(), completed_lecture()]

    with django_capture_on_commit_callbacks(execute=True):
        run_action(staff_client, LECTURES, "delete_selected", lectures, post="yes")

    assert not Lecture.objects.exists()
    assert not any(storage_exists(lecture.audio_storage_key) for lecture in lectures)


def test_the_lecture_page_runs_as_many_queries_for_50_linked_users_as_for_2(staff_client):
    few, many = failed_lecture(), failed_lecture()
    LectureLinkFactory.create_batch(2, lecture=few)
    LectureLinkFactory.create_batch(50, lecture=many)

    def page(lecture) -> str:
        return reverse("admin:lectures_lecture_change", args=[lecture.pk])

    assert query_count(staff_client, page(many)) == query_count(staff_client, page(few))
