import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper

CODE_MAX_LENGTH = 32
TITLE_MAX_LENGTH = 200


def normalise_course_code(code: str) -> str:
    """``"  csc  173 "`` → ``"CSC 173"``: trimmed, inner white space folded, upper case."""
    return " ".join(code.split()).upper()


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
