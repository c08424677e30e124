"""The admin lists run the same number of queries for 10 rows as for 200."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.admin.conftest import DocumentFactory, completed_lecture, failed_lecture
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory
from tests.lectures.factories import LectureFactory, LectureLinkFactory

pytestmark = pytest.mark.django_db


def _lectures(n: int) -> None:
    for i in range(n):
        lecture = (completed_lecture if i % 2 else failed_lecture)()
        LectureLinkFactory.create_batch(2, lecture=lecture)


def _courses(n: int) -> None:
    for _ in range(n):
        course = CourseFactory()
        EnrollmentFactory.create_batch(2, course=course)
        LectureFactory(course=course)
        DocumentFactory(course=course)


def _links(n: int) -> None:
    LectureLinkFactory.create_batch(n)


def _documents(n: int) -> None:
    DocumentFactory.create_batch(n)


def _users(n: int) -> None:
    UserFactory.create_batch(n)


ROWS: dict[str, Callable[[int], None]] = {
    "lectures_lecture": _lectures,
    "courses_course": _courses,
    "lectures_lecturelink": _links,
    "documents_document": _documents,
    "accounts_user": _users,
}


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
        assert response.status_code == 200
    return len(context.captured_queries)


@pytest.mark.parametrize("changelist", ROWS)
def test_a_changelist_runs_as_many_queries_for_200_rows_as_for_10(staff_client, changelist):
    url = reverse(f"admin:{changelist}_changelist")
    ROWS[changelist](10)
    with_10 = _queries(staff_client, url)

    ROWS[changelist](190)
    with_200 = _queries(staff_client, url)

    assert with_200 == with_10


def test_the_lecture_page_runs_as_many_queries_for_50_linked_users_as_for_2(staff_client):
    few, many = failed_lecture(), failed_lecture()
    LectureLinkFactory.create_batch(2, lecture=few)
    LectureLinkFactory.create_batch(50, lecture=many)

    def page(lecture) -> str:
        return reverse("admin:lectures_lecture_change", args=[lecture.pk])

    assert _queries(staff_client, page(many)) == _queries(staff_client, page(few))


def test_the_course_page_runs_as_many_queries_for_50_students_as_for_2(staff_client):
    few, many = CourseFactory(), CourseFactory()
    EnrollmentFactory.create_batch(2, course=few)
    EnrollmentFactory.create_batch(50, course=many)

    def page(course) -> str:
        return reverse("admin:courses_course_change", args=[course.pk])

    assert _queries(staff_client, page(many)) == _queries(staff_client, page(few))
