"""Existing course codes in the normalised form of ``courses.models.normalise_course_code``.

Codes used to be compared after trimming and case folding only, so a full-width
`CSC 173`, a `CSC 173` with a zero-width space after `CSC`, and `CSC 173` could be three
courses. For each group of rows whose codes normalise alike, one row is kept (the one
already spelt in the normal form, else an official one, else the oldest) and each
look-alike is folded into it when nothing collides: its enrolments, documents and
lectures move over and the row goes. A look-alike whose move would break a unique
constraint (the same document of one owner, the same Panopto session, in both) is left
as it is and reported, as is every row whose code is still not ASCII letters, digits,
spaces and ``&./-`` once normalised. A look-alike row is deleted only once nothing
refers to it any more.

The normalisation is copied here, not imported, so that this migration keeps doing what
it did when the rule later changes.
"""

import re
import unicodedata

from django.db import migrations

_CODE_MAX_LENGTH = 32
_CODE_SHAPE = re.compile(r"[A-Z0-9 &./-]+")
# The relations a folded course hands over to the course it is folded into.
_MOVED = frozenset({"enrollments", "documents", "lectures"})


def _normalised(code: str) -> str:
    code = unicodedata.normalize("NFKC", code)
    code = "".join(char for char in code if unicodedata.category(char) != "Cf")
    return " ".join(code.split()).upper()


def _valid(code: str) -> bool:
    return 0 < len(code) <= _CODE_MAX_LENGTH and bool(_CODE_SHAPE.fullmatch(code))


def fold_lookalike_courses(apps, schema_editor, report=print) -> None:
    Course = apps.get_model("courses", "Course")
    groups: dict[str, list] = {}
    for course in Course.objects.order_by("created_at", "id"):
        groups.setdefault(_normalised(course.code), []).append(course)
    for code, courses in groups.items():
        if not _valid(code):
            for course in courses:
                report(
                    f"courses: {course.code!a} ({course.id}) left as it is: its code is not "
                    "ASCII letters, digits, spaces and & . / - once normalised"
                )
            continue
        if len(courses) > 1 or courses[0].code != code:
            _fold_group(apps, code, courses, report)


def _fold_group(apps, code: str, courses: list, report) -> None:
    # The row already spelt right keeps its id (links to it stay good), else an official
    # one, else the oldest (the list is in creation order and the sort is stable).
    keep = min(courses, key=lambda course: (course.code != code, not course.is_official))
    for course in courses:
        if course.pk == keep.pk:
            continue
        clash = _clash(apps, course, keep)
        if clash:
            report(
                f"courses: {course.code!a} ({course.id}) not folded into {code!a} "
                f"({keep.id}): {clash}"
            )
            continue
        _move(apps, course, keep)
    if keep.code != code:
        # Every look-alike left over still has its own (different) spelling, so the
        # normal form is free.
        keep.code = code
        keep.save(update_fields=["code"])


def _clash(apps, course, keep) -> str | None:
    # Rows of any other model that points at courses are not moved here: their course
    # stays.
    for relation in course._meta.related_objects:
        if relation.get_accessor_name() in _MOVED:
            continue
        if relation.related_model._base_manager.filter(**{relation.field.name: course}).exists():
            return f"it has {relation.related_model._meta.verbose_name_plural} that are not moved"
    Document = apps.get_model("documents", "Document")
    Lecture = apps.get_model("lectures", "Lecture")
    documents = Document.objects.filter(course=keep)
    for owner_id, sha256 in Document.objects.filter(course=course).values_list(
        "owner_id", "sha256"
    ):
        if documents.filter(owner_id=owner_id, sha256=sha256).exists():
            return f"both hold the same document of user {owner_id}"
    sessions = Lecture.objects.filter(course=course).values_list("panopto_session_id", flat=True)
    shared = Lecture.objects.filter(course=keep, panopto_session_id__in=list(sessions)).first()
    if shared is not None:
        return f"both hold a lecture of Panopto session {shared.panopto_session_id}"
    return None


def _move(apps, course, keep) -> None:
    Enrollment = apps.get_model("courses", "Enrollment")
    Document = apps.get_model("documents", "Document")
    Lecture = apps.get_model("lectures", "Lecture")
    enrolled = Enrollment.objects.filter(course=keep).values("user_id")
    # A student on both lists stays on the kept one, once.
    Enrollment.objects.filter(course=course, user_id__in=enrolled).delete()
    Enrollment.objects.filter(course=course).update(course=keep)
    Document.objects.filter(course=course).update(course=keep)
    Lecture.objects.filter(course=course).update(course=keep)
    if course.is_official and not keep.is_official:
        # The official catalogue has this code: the course that now carries it is official.
        keep.is_official = True
        keep.save(update_fields=["is_official"])
    course.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("courses", "0001_initial"),
        ("documents", "0001_initial"),
        ("lectures", "0002_reap_stale_schedule"),
    ]

    operations = [
        migrations.RunPython(fold_lookalike_courses, migrations.RunPython.noop, elidable=True),
    ]
