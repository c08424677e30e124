"""The data migration that folds existing look-alike course codes, run on rows made
before it (as a database that predates the rule holds them)."""

from __future__ import annotations

import importlib
import uuid

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from courses.models import Course, Enrollment
from documents.models import Document
from lectures.models import Lecture, LectureLink
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory
from tests.lectures.factories import LectureFactory, LectureLinkFactory

pytestmark = pytest.mark.django_db

FULL_WIDTH = "\uff23\uff33\uff23 173"
ZERO_WIDTH = "CSC\u200b 173"
WORD_JOINER = "CSC\u2060 173"
CYRILLIC = "\u0421SC 173"


def fold() -> list[str]:
    """Run the migration's function as ``migrate`` would; what it reported."""
    module = importlib.import_module("courses.migrations.0002_fold_lookalike_course_codes")
    reports: list[str] = []
    module.fold_lookalike_courses(apps, None, report=reports.append)
    return reports


def course_spelt(code: str, **fields) -> Course:
    """A course whose code was stored before normalisation folded look-alikes."""
    course = CourseFactory(code=f"TMP {uuid.uuid4().hex[:8].upper()}", **fields)
    Course.objects.filter(pk=course.pk).update(code=code)
    course.refresh_from_db()
    return course


def document(course: Course, owner, sha256: str | None = None) -> Document:
    document_id = uuid.uuid4()
    return Document.objects.create(
        id=document_id,
        owner=owner,
        course=course,
        original_filename="notes.pdf",
        size_bytes=10,
        sha256=sha256 or uuid.uuid4().hex * 2,
        storage_key=f"documents/{document_id}.pdf",
    )


def test_a_lookalike_is_folded_into_the_plain_course_with_everything_it_holds():
    plain = CourseFactory(code="CSC 173")
    lookalike = course_spelt(FULL_WIDTH)
    both, only_lookalike = UserFactory(), UserFactory()
    EnrollmentFactory(user=both, course=plain)
    EnrollmentFactory(user=both, course=lookalike)
    EnrollmentFactory(user=only_lookalike, course=lookalike)
    notes = document(lookalike, only_lookalike)
    same_bytes_other_owner = document(lookalike, both, sha256="a" * 64)
    document(plain, only_lookalike, sha256="a" * 64)
    lecture = LectureFactory(course=lookalike)
    link = LectureLinkFactory(lecture=lecture, user=only_lookalike)

    reports = fold()

    assert reports == []
    assert list(Course.objects.values_list("id", "code")) == [(plain.id, "CSC 173")]
    assert sorted(Enrollment.objects.values_list("user_id", "course_id")) == sorted(
        [(both.id, plain.id), (only_lookalike.id, plain.id)]
    )
    assert set(Document.objects.filter(course=plain).values_list("id", flat=True)) >= {
        notes.id,
        same_bytes_other_owner.id,
    }
    assert Lecture.objects.get(pk=lecture.pk).course_id == plain.id
    assert LectureLink.objects.filter(pk=link.pk).exists()


def test_several_lookalikes_fold_into_one_course():
    plain = CourseFactory(code="CSC 173")
    for code in (FULL_WIDTH, ZERO_WIDTH, WORD_JOINER, "CS\u00adC 173", "\ufeffCSC 173"):
        EnrollmentFactory(course=course_spelt(code))

    assert fold() == []

    assert list(Course.objects.values_list("id", flat=True)) == [plain.id]
    assert Enrollment.objects.filter(course=plain).count() == 5


def test_an_official_lookalike_makes_the_plain_course_official():
    plain = CourseFactory(code="CSC 173", title="Students' title", is_official=False)
    course_spelt(FULL_WIDTH, is_official=True)

    fold()

    plain.refresh_from_db()
    assert (plain.code, plain.title, plain.is_official) == ("CSC 173", "Students' title", True)
    assert Course.objects.count() == 1


def test_without_a_plain_row_an_official_lookalike_is_kept_and_respelt():
    older = course_spelt(ZERO_WIDTH)
    official = course_spelt(FULL_WIDTH, is_official=True)
    EnrollmentFactory(course=older)

    assert fold() == []

    assert list(Course.objects.values_list("id", "code")) == [(official.id, "CSC 173")]
    assert Enrollment.objects.get().course_id == official.id


def test_a_lone_lookalike_is_respelt_in_place():
    course = course_spelt("\uff2d\uff34\uff28\u3000101")
    enrollment = EnrollmentFactory(course=course)

    assert fold() == []

    assert list(Course.objects.values_list("id", "code")) == [(course.id, "MTH 101")]
    assert Enrollment.objects.get().pk == enrollment.pk


def test_a_lookalike_holding_the_same_document_of_one_owner_is_left_and_reported():
    plain = CourseFactory(code="CSC 173")
    lookalike = course_spelt(FULL_WIDTH)
    owner = UserFactory()
    document(plain, owner, sha256="b" * 64)
    document(lookalike, owner, sha256="b" * 64)
    EnrollmentFactory(course=lookalike)

    reports = fold()

    assert len(reports) == 1
    assert str(lookalike.id) in reports[0] and "same document" in reports[0]
    assert Course.objects.get(pk=lookalike.pk).code == FULL_WIDTH
    assert Enrollment.objects.get().course_id == lookalike.id
    assert Document.objects.filter(course=lookalike).count() == 1


def test_a_lookalike_holding_the_same_panopto_session_is_left_and_reported():
    plain = CourseFactory(code="CSC 173")
    lookalike = course_spelt(ZERO_WIDTH)
    session = str(uuid.uuid4())
    LectureFactory(course=plain, panopto_session_id=session)
    LectureFactory(course=lookalike, panopto_session_id=session)

    reports = fold()

    assert len(reports) == 1
    assert str(lookalike.id) in reports[0] and session in reports[0]
    assert Course.objects.count() == 2
    assert Lecture.objects.filter(course=lookalike).count() == 1


def test_a_clash_with_one_lookalike_does_not_stop_the_others():
    plain = CourseFactory(code="CSC 173")
    clashing = course_spelt(FULL_WIDTH)
    session = str(uuid.uuid4())
    LectureFactory(course=plain, panopto_session_id=session)
    LectureFactory(course=clashing, panopto_session_id=session)
    course_spelt(WORD_JOINER)

    reports = fold()

    assert len(reports) == 1
    assert set(Course.objects.values_list("id", flat=True)) == {plain.id, clashing.id}


def test_a_code_that_is_not_ascii_once_normalised_is_left_and_reported():
    CourseFactory(code="CSC 173")
    cyrillic = course_spelt(CYRILLIC)
    accented = course_spelt("E\u0301CO 101")

    reports = fold()

    assert len(reports) == 2
    assert any(str(cyrillic.id) in report for report in reports)
    assert any(str(accented.id) in report for report in reports)
    assert all("not ASCII" in report for report in reports)
    assert Course.objects.get(pk=cyrillic.pk).code == CYRILLIC
    assert Course.objects.get(pk=accented.pk).code == "E\u0301CO 101"
    assert Course.objects.count() == 3


def test_plain_codes_are_left_alone():
    courses = [CourseFactory(code=code) for code in ("CSC 173", "MTH 101", "R&D 1.0/2-A")]

    assert fold() == []

    assert sorted(Course.objects.values_list("id", "code")) == sorted(
        (course.id, course.code) for course in courses
    )


def test_folding_twice_changes_nothing_more():
    plain = CourseFactory(code="CSC 173")
    EnrollmentFactory(course=course_spelt(FULL_WIDTH))
    fold()

    assert fold() == []

    assert list(Course.objects.values_list("id", flat=True)) == [plain.id]


def test_migrate_folds_rows_of_the_previous_schema(capsys):
    executor = MigrationExecutor(connection)
    before, after = [("courses", "0001_initial")], [("courses", "0002_fold_lookalike_course_codes")]
    executor.migrate(before)
    old_apps = executor.loader.project_state(
        [*before, ("documents", "0001_initial"), ("lectures", "0002_reap_stale_schedule")]
    ).apps
    OldCourse = old_apps.get_model("courses", "Course")
    OldEnrollment = old_apps.get_model("courses", "Enrollment")
    OldDocument = old_apps.get_model("documents", "Document")
    plain = OldCourse.objects.create(code="CSC 173", title="Computation")
    lookalike = OldCourse.objects.create(code=ZERO_WIDTH, title="Look-alike")
    cyrillic = OldCourse.objects.create(code=CYRILLIC, title="Not the same")
    student = UserFactory()
    OldEnrollment.objects.create(user_id=student.pk, course=lookalike)
    document_id = uuid.uuid4()
    OldDocument.objects.create(
        id=document_id,
        owner_id=student.pk,
        course=lookalike,
        original_filename="notes.pdf",
        size_bytes=10,
        sha256="c" * 64,
        storage_key=f"documents/{document_id}.pdf",
    )

    MigrationExecutor(connection).migrate(after)
    # Then the latest schema of every app: later migrations of other apps, which follow
    # courses 0002, were unapplied with it. Their ALTER TABLEs need the rows' deferred
    # foreign-key checks done first (this test runs in one transaction).
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    forward = MigrationExecutor(connection)
    forward.migrate(forward.loader.graph.leaf_nodes())

    assert set(Course.objects.values_list("id", "code")) == {
        (plain.id, "CSC 173"),
        (cyrillic.id, CYRILLIC),
    }
    assert Enrollment.objects.get().course_id == plain.id
    assert Document.objects.get().course_id == plain.id
    assert f"courses: {CYRILLIC!a} ({cyrillic.id}) left as it is" in capsys.readouterr().out
