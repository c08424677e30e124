"""The course admin: adding a student from the course page, codes normalised (and lookalikes
refused) in its form, a deleted course takes its lectures' audio and its documents' files."""

from __future__ import annotations

import pytest
from django.urls import reverse

from core.storage import storage_exists
from courses.models import Course, Enrollment
from documents.models import Document
from lectures.models import Lecture, LectureLink
from tests.admin_helpers import admin_url, completed_lecture, query_count, stored_document
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory
from tests.lectures.factories import LectureLinkFactory

pytestmark = pytest.mark.django_db


def test_staff_add_a_student_to_a_course_from_the_course_page(staff_client):
    lecture = completed_lecture()
    course = lecture.course
    student = UserFactory()
    url = admin_url(type(course), "change", course.pk)
    form = {
        "code": course.code,
        "title": course.title,
        "instructor": course.instructor,
        "is_official": "on",
        "enrollments-TOTAL_FORMS": "0",
        "enrollments-INITIAL_FORMS": "0",
        "enrollments-2-TOTAL_FORMS": "1",
        "enrollments-2-INITIAL_FORMS": "0",
        "enrollments-2-0-user": str(student.pk),
        "enrollments-2-0-course": str(course.pk),
        "links-TOTAL_FORMS": "0",
    }

    response = staff_client.post(url, form)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Enrollment.objects.filter(course=course, user=student).exists()
    course.refresh_from_db()
    assert course.is_official
    assert LectureLink.objects.count() == 0


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


def test_an_admin_course_code_is_normalised_and_a_collision_is_a_form_error(staff_client):
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


def test_the_course_page_runs_as_many_queries_for_50_students_as_for_2(staff_client):
    few, many = CourseFactory(), CourseFactory()
    EnrollmentFactory.create_batch(2, course=few)
    EnrollmentFactory.create_batch(50, course=many)

    def page(course) -> str:
        return reverse("admin:courses_course_change", args=[course.pk])

    assert query_count(staff_client, page(many)) == query_count(staff_client, page(few))
