"""Writes to the course catalogue and to students' course lists."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from accounts.models import User
from core.exceptions import InvalidInput
from courses.importing import CourseRow
from courses.models import Course, Enrollment, course_code_problem, normalise_course_code


@transaction.atomic
def course_get_or_create_and_enroll(
    *, user: User, code: str, title: str, instructor: str = ""
) -> tuple[Course, bool]:
    """Find the course by its normalised code or create it, and enrol ``user``.

    The code is compared in its normalised form (``normalise_course_code``), so a
    look-alike spelling finds the existing course; a code that is not valid then is
    refused (``InvalidInput``), never stored as a second course. Returns
    ``(course, created)``. An existing course keeps its title and instructor: a
    student's spelling never overwrites the catalogue. Concurrent creates of one code end
    with one course (the unique code decides; the losers read the winner's row).
    """
    normalised = normalise_course_code(code)
    problem = course_code_problem(normalised)
    if problem:
        raise InvalidInput(problem, field="code")
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


@transaction.atomic
def course_import_official(*, rows: list[CourseRow], dry_run: bool = False) -> list[str]:
    """Upsert official courses by code; the outcome of each row, in order: ``created``,
    ``updated`` (title, instructor or official flag changed) or ``unchanged``.

    All or nothing; ``dry_run`` reports the same outcomes and rolls everything back.
    """
    existing = {
        course.code: course
        for course in Course.objects.select_for_update().filter(code__in=[row.code for row in rows])
    }
    outcomes = []
    for row in rows:
        course = existing.get(row.code)
        if course is None:
            Course.objects.create(
                code=row.code, title=row.title, instructor=row.instructor, is_official=True
            )
            outcomes.append("created")
            continue
        wanted = {"title": row.title, "instructor": row.instructor, "is_official": True}
        changed = [name for name, value in wanted.items() if getattr(course, name) != value]
        for name in changed:
            setattr(course, name, wanted[name])
        if changed:
            course.save(update_fields=[*changed, "updated_at"])
        outcomes.append("updated" if changed else "unchanged")
    if dry_run:
        transaction.set_rollback(True)
    return outcomes
