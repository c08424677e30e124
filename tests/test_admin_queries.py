"""The admin lists run the same number of queries for 10 rows as for 200."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.urls import reverse

from tests.admin_helpers import DocumentFactory, completed_lecture, failed_lecture, query_count
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


@pytest.mark.parametrize("changelist", ROWS)
def test_a_changelist_runs_as_many_queries_for_200_rows_as_for_10(staff_client, changelist):
    url = reverse(f"admin:{changelist}_changelist")
    ROWS[changelist](10)
    with_10 = query_count(staff_client, url)

    ROWS[changelist](190)
    with_200 = query_count(staff_client, url)

    assert with_200 == with_10
