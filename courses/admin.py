from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest

from courses.models import Course, Enrollment
from documents.models import Document
from lectures.models import Lecture


def _count_of(model, field: str = "course") -> Coalesce:
    """A correlated ``COUNT(*)`` per course: several counts without multiplying joins."""
    counts = (
        model.objects.filter(**{field: OuterRef("pk")})
        .order_by()
        .values(field)
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


class EnrollmentInline(admin.TabularInline):
    model = Enrollment
    extra = 0
    fields = ("user", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("user",)
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("user", "course")


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
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
    inlines = (EnrollmentInline,)
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .select_related("created_by")
            .annotate(
                student_count=_count_of(Enrollment),
                lecture_count=_count_of(Lecture),
                document_count=_count_of(Document),
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
