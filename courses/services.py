"""Writes to the course catalogue and to students' course lists."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from accounts.models import User
from courses.models import Course, Enrollment, normalise_course_code


@transaction.atomic
def course_get_or_create_and_enroll(
    *, user: User, code: str, title: str, instructor: str = ""
) -> tuple[Course, bool]:
    """Find the course by its normalised code or create it, and enrol ``user``.

    Returns ``(course, created)``. An existing course keeps its title and instructor: a
    student's spelling never overwrites the catalogue. Concurrent creates of one code end
    with one course (the unique code decides; the losers read the winner's row).
    """
    normalised = normalise_course_code(code)
    course = Course.objects.filter(code=normalised).first()
    created = False
    if course is None:
        try:
            with transaction.atomic():
                course = Course.objects.create(
                    code=normalised, title=title, instructor=instructor, created_by=user
                )
                created = True
        except IntegrityError:
            course = Course.objects.get(code=normalised)
    enrollment_create(user=user, course=course)
    return course, created


def enrollment_create(*, user: User, course: Course) -> bool:
    """Put ``course`` on the user's list; ``True`` when it was not there yet."""
    _, created = Enrollment.objects.get_or_create(user=user, course=course)
    return created


def enrollment_delete(*, user: User, course: Course) -> None:
    """Take ``course`` off the user's list; their documents and lectures stay."""
    Enrollment.objects.filter(user=user, course=course).delete()
