"""Reads of the course catalogue, each in a constant number of queries."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import User
from courses.models import Course, Enrollment


def _with_enrolled(queryset: QuerySet[Course], user: User) -> QuerySet[Course]:
    return queryset.annotate(
        enrolled=Exists(Enrollment.objects.filter(course=OuterRef("pk"), user=user))
    )


def _search(queryset: QuerySet[Course], search: str | None) -> QuerySet[Course]:
    terms = " ".join((search or "").split())
    if not terms:
        return queryset
    return queryset.filter(Q(code__icontains=terms) | Q(title__icontains=terms))


def course_list_for_user(*, user: User, search: str | None = None) -> QuerySet[Course]:
    """The user's own courses (their enrolments), ordered by code."""
    queryset = Course.objects.filter(enrollments__user=user).order_by("code")
    return _search(_with_enrolled(queryset, user), search)


def course_catalog(
    *, user: User, search: str | None = None, official: bool | None = None
) -> QuerySet[Course]:
    """Every course, to find one to enrol in."""
    queryset = Course.objects.order_by("code")
    if official is not None:
        queryset = queryset.filter(is_official=official)
    return _search(_with_enrolled(queryset, user), search)


def course_get(*, user: User, course_id) -> Course | None:
    """Any course of the catalogue, with ``enrolled`` for ``user``."""
    return _with_enrolled(Course.objects.filter(pk=course_id), user).first()


def course_is_enrolled(*, user: User, course_id) -> bool:
    return Enrollment.objects.filter(user=user, course_id=course_id).exists()
