import re
import unicodedata
import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper

CODE_MAX_LENGTH = 32
TITLE_MAX_LENGTH = 200


# What a code may be made of once normalised. ASCII only: a letter of another script
# that looks like a Latin one (Cyrillic Es, Greek Alpha) would otherwise be a second course
# that looks exactly like the first.
_CODE_SHAPE = re.compile(r"[A-Z0-9 &./-]+")
CODE_CHARACTERS_MESSAGE = (
    "A course code may contain only ASCII letters, digits, spaces and & . / - "
    "(look for a letter from another alphabet or an accent)."
)


def normalise_course_code(code: str) -> str:
    """The form in which codes are compared and stored: ``"  csc  173 "`` → ``"CSC 173"``.

    Unicode NFKC first, so full-width letters and other compatibility forms become the
    letters they stand for; then invisible format characters (category Cf: zero-width
    spaces, soft hyphens, BOM, word joiners) go, since they make distinct strings that
    print the same; then trimmed, inner white space folded to one space, upper case.

    Combining accents are kept (NFKC composes E and a combining acute accent into one
    accented letter): an accent changes the letter, so dropping it would quietly file the
    code under another course. ``course_code_problem`` refuses what is left that is not
    ASCII, so an accented code is a 400, like a Cyrillic letter.
    """
    code = unicodedata.normalize("NFKC", code)
    code = "".join(char for char in code if unicodedata.category(char) != "Cf")
    return " ".join(code.split()).upper()


def course_code_problem(code: str) -> str | None:
    """Why a normalised code cannot be in the catalogue, or ``None`` when it can."""
    if not code:
        return "The code cannot be blank."
    if len(code) > CODE_MAX_LENGTH:
        return f"Ensure this field has no more than {CODE_MAX_LENGTH} characters."
    if not _CODE_SHAPE.fullmatch(code):
        return CODE_CHARACTERS_MESSAGE
    return None


class Course(models.Model):
    """A course of the shared catalogue; one row per (normalised) course code."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(max_length=CODE_MAX_LENGTH, unique=True)
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    instructor = models.CharField(max_length=TITLE_MAX_LENGTH, blank=True)
    is_official = models.BooleanField(
        default=False, help_text="Imported by staff from the official catalogue."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="created_courses",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Enrollment", related_name="courses"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(code=""), name="course_code_not_empty"),
            models.CheckConstraint(
                condition=models.Q(code=Upper("code")), name="course_code_upper_case"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.title}"

    def save(self, *args, **kwargs) -> None:
        self.code = normalise_course_code(self.code)
        super().save(*args, **kwargs)


class Enrollment(models.Model):
    """A course on a student's list."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments"
    )
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="enrollments")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "course"], name="unique_enrollment"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.course.code}"
