"""Staff actions: retry failed downloads, and every kind of delete takes the stored files."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.urls import reverse
from django_q.models import OrmQ

from core.storage import storage_exists
from courses.models import Course, Enrollment
from documents.models import Document
from lectures.models import Lecture, LectureLink
from lectures.services import TASK
from tests.admin.conftest import completed_lecture, failed_lecture, stored_document
from tests.factories import EnrollmentFactory
from tests.lectures.factories import LectureFactory, LectureLinkFactory

pytestmark = pytest.mark.django_db

LECTURES = reverse("admin:lectures_lecture_changelist")
DOCUMENTS = reverse("admin:documents_document_changelist")


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _queued_lecture_ids() -> set[str]:
    jobs = list(OrmQ.objects.all())
    assert all(job.task["func"] == TASK for job in jobs)
    return {job.task["args"][0] for job in jobs}


def _run_action(client, url: str, action: str, objects, **extra):
    return client.post(
        url,
        {"action": action, ACTION_CHECKBOX_NAME: [str(obj.pk) for obj in objects], **extra},
        follow=True,
    )


def test_retry_queues_only_the_failed_lectures_and_says_how_many_were_skipped(
    staff_client, django_capture_on_commit_callbacks
):
    failed = [failed_lecture(), failed_lecture()]
    completed = completed_lecture()
    queued = LectureFactory()

    with django_capture_on_commit_callbacks(execute=True):
        response = _run_action(
            staff_client, LECTURES, "retry_download", [*failed, completed, queued]
        )

    assert response.status_code == 200
    assert _messages(response) == [
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
        response = _run_action(staff_client, LECTURES, "retry_download", [lecture])

    assert _messages(response) == ["Queued 0 lectures for download; skipped 1 that was not failed."]
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
        response = _run_action(staff_client, LECTURES, "delete_with_audio", doomed, post="yes")

    assert _messages(response) == ["Deleted 3 lectures and 2 stored files."]
    assert list(Lecture.objects.all()) == [kept]
    assert not LectureLink.objects.exists()
    assert not any(storage_exists(lecture.audio_storage_key) for lecture in doomed[:2])
    assert storage_exists(kept.audio_storage_key)


def test_delete_with_file_removes_the_documents_and_their_files(
    staff_client, django_capture_on_commit_callbacks
):
    doomed = [stored_document(), stored_document()]
    kept = stored_document()

    with django_capture_on_commit_callbacks(execute=True):
        response = _run_action(staff_client, DOCUMENTS, "delete_with_file", doomed, post="yes")

    assert _messages(response) == ["Deleted 2 documents and 2 stored files."]
    assert list(Document.objects.all()) == [kept]
    assert not any(storage_exists(document.storage_key) for document in doomed)
    assert storage_exists(kept.storage_key)


def test_the_plain_bulk_delete_removes_audio_and_files(
    staff_client, django_capture_on_commit_callbacks
):
    lectures = [completed_lecture(), completed_lecture()]
    documents = [stored_document(), stored_document()]

    with django_capture_on_commit_callbacks(execute=True):
        _run_action(staff_client, LECTURES, "delete_selected", lectures, post="yes")
        _run_action(staff_client, DOCUMENTS, "delete_selected", documents, post="yes")

    assert not Lecture.objects.exists() and not Document.objects.exists()
    assert not any(storage_exists(lecture.audio_storage_key) for lecture in lectures)
    assert not any(storage_exists(document.storage_key) for document in documents)


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


def test_the_plain_delete_of_one_document_removes_its_file(
    staff_client, django_capture_on_commit_callbacks
):
    document = stored_document()
    url = reverse("admin:documents_document_delete", args=[document.pk])

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert not Document.objects.exists()
    assert not storage_exists(document.storage_key)


def test_deleting_a_course_removes_its_lectures_audio_and_its_documents_files(
    staff_client, django_capture_on_commit_callbacks
):
    lecture = completed_lecture()
    course = lecture.course
    LectureLinkFactory(lecture=lecture)
    EnrollmentFactory(course=course)
    document = stored_document(course=course)
    other_lecture, other_document = completed_lecture(), stored_document()
    url = reverse("admin:courses_course_delete", args=[course.pk])
    confirmation = staff_client.get(url).content.decode()
    assert lecture.title in confirmation and document.original_filename in confirmation

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert not Course.objects.filter(pk=course.pk).exists()
    assert not Enrollment.objects.filter(course_id=course.pk).exists()
    assert list(Lecture.objects.all()) == [other_lecture]
    assert list(Document.objects.all()) == [other_document]
    assert not storage_exists(lecture.audio_storage_key)
    assert not storage_exists(document.storage_key)
    assert storage_exists(other_lecture.audio_storage_key)
    assert storage_exists(other_document.storage_key)


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
        response = _run_action(staff_client, LECTURES, "delete_with_audio", lectures, post="yes")

    assert response.status_code == 500
    assert callbacks == []  # the rolled-back deletes scheduled no file removal
    assert Lecture.objects.count() == 2
    assert all(storage_exists(lecture.audio_storage_key) for lecture in lectures)


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


def test_a_lecture_link_cannot_be_moved_to_another_lecture(staff_client):
    link = LectureLinkFactory()
    other = LectureFactory()
    url = reverse("admin:lectures_lecturelink_change", args=[link.pk])

    staff_client.post(url, {"user": str(link.user_id), "lecture": str(other.pk)})

    link.refresh_from_db()
    assert link.lecture_id != other.pk


def test_an_admin_course_code_is_normalised_and_a_collision_is_a_form_error(staff_client):
    from tests.factories import CourseFactory

    CourseFactory(code="CSC 173")
    course = CourseFactory(code="MTH 101")
    url = reverse("admin:courses_course_change", args=[course.pk])
    form = {
        "code": "csc  173",
        "title": course.title,
        "instructor": "",
        "enrollments-TOTAL_FORMS": "0",
        "enrollments-INITIAL_FORMS": "0",
        "add-enrollments-TOTAL_FORMS": "0",
        "add-enrollments-INITIAL_FORMS": "0",
    }

    response = staff_client.post(url, form)

    assert response.status_code == 200  # the form again, with its error
    assert "already exists" in response.content.decode()
    course.refresh_from_db()
    assert course.code == "MTH 101"


def _course_add_form(code: str) -> dict[str, str]:
    return {
        "code": code,
        "title": "Computation",
        "instructor": "",
        "enrollments-TOTAL_FORMS": "0",
        "enrollments-INITIAL_FORMS": "0",
        "enrollments-2-TOTAL_FORMS": "0",
        "enrollments-2-INITIAL_FORMS": "0",
    }


def test_an_admin_lookalike_course_code_collides_with_the_plain_one(staff_client):
    from tests.factories import CourseFactory

    CourseFactory(code="CSC 173")

    response = staff_client.post(
        reverse("admin:courses_course_add"), _course_add_form("\uff23\uff33\uff23\u200b 173")
    )

    assert response.status_code == 200  # the form again, with its error
    assert "already exists" in response.content.decode()
    assert Course.objects.count() == 1


def test_an_admin_full_width_course_code_is_stored_in_its_plain_form(staff_client):
    response = staff_client.post(
        reverse("admin:courses_course_add"), _course_add_form("\uff2d\uff34\uff28\u00ad 101")
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Course.objects.get().code == "MTH 101"


def test_an_admin_course_code_with_a_cyrillic_letter_is_a_form_error(staff_client):
    response = staff_client.post(
        reverse("admin:courses_course_add"), _course_add_form("\u0421SC 173")
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["code"] == [
        "A course code may contain only ASCII letters, digits, spaces and & . / - "
        "(look for a letter from another alphabet or an accent)."
    ]
    assert not Course.objects.exists()
