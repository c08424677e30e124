from django import forms
from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest

from courses.models import Course, Enrollment, course_code_problem, normalise_course_code


def _count_of(relation: str) -> Coalesce:
    """A correlated ``COUNT(*)`` of a course's related rows (``enrollments``, ``lectures``,
    ``documents``): several counts without multiplying joins. The related model is found
    through the relation, so this app imports none of the apps that point at courses."""
    model = Course._meta.get_field(relation).related_model
    counts = (
        model.objects.filter(course=OuterRef("pk"))
        .order_by()
        .values("course")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


class EnrollmentInline(admin.TabularInline):
    """The course's students, read-only (one query whatever their number); staff may remove."""

    model = Enrollment
    extra = 0
    fields = ("user", "user_clerk_id", "created_at")
    readonly_fields = fields
    verbose_name = "student"
    verbose_name_plural = "students"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The row label names the course too: both come with the enrolment.
        return super().get_queryset(request).select_related("user", "course")

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="Clerk id")
    def user_clerk_id(self, enrollment: Enrollment) -> str:
        return enrollment.user.clerk_id or "—"


class AddEnrollmentInline(admin.TabularInline):
    """Blank rows to enrol students; an editable row per existing student would look each
    one up again."""

    model = Enrollment
    extra = 1
    fields = ("user",)
    autocomplete_fields = ("user",)
    can_delete = False
    verbose_name = "new student"
    verbose_name_plural = "enrol students"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).none()

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return self.has_add_permission(request, obj)


class CourseForm(forms.ModelForm):
    class Meta:
        model = Course
        fields = ["code", "title", "instructor", "is_official"]

    def clean_code(self) -> str:
        # Normalised before the unique check, so `csc  173` and full-width or
        # zero-width-spaced spellings collide with `CSC 173` here (a clear form error)
        # rather than in the database.
        code = normalise_course_code(self.cleaned_data["code"])
        problem = course_code_problem(code)
        if problem:
            raise forms.ValidationError(problem)
        return code


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    form = CourseForm
    list_display = (
        "code",
        "title",
        "instructor",
        "is_official",
        "students",
        "lectures",
        "documents",
        "created_at",
    )
    list_display_links = ("code", "title")
    list_filter = ("is_official", "created_at")
    search_fields = ("code", "title", "instructor")
    readonly_fields = ("id", "created_by", "created_at", "updated_at")
    fields = (
        "id",
        "code",
        "title",
        "instructor",
        "is_official",
        "created_by",
        "created_at",
        "updated_at",
    )
    inlines = (EnrollmentInline, AddEnrollmentInline)
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .select_related("created_by")
            .annotate(
                student_count=_count_of("enrollments"),
                lecture_count=_count_of("lectures"),
                document_count=_count_of("documents"),
            )
        )

    @admin.display(description="students", ordering="student_count")
    def students(self, course: Course) -> int:
        return course.student_count

    @admin.display(description="lectures", ordering="lecture_count")
    def lectures(self, course: Course) -> int:
        return course.lecture_count

    @admin.display(description="documents", ordering="document_count")
    def documents(self, course: Course) -> int:
        return course.document_count
