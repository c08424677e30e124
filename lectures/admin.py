from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.html import format_html
from django.utils.text import Truncator

from core.admin import (
    OfficialCourseFilter,
    confirm_delete_with_files,
    file_link,
    human_duration,
    human_size,
    stream_stored_file,
)
from core.files import stored_file_response
from lectures.models import Lecture, LectureLink
from lectures.services import lecture_delete, lecture_requeue_failed

_STATUS_COLOURS = {
    Lecture.Status.QUEUED: "#777",
    Lecture.Status.DOWNLOADING: "#205493",
    Lecture.Status.EXTRACTING: "#205493",
    Lecture.Status.COMPLETED: "#2e8540",
    Lecture.Status.FAILED: "#ba2121",
}


class LectureLinkInline(admin.TabularInline):
    """Who has the lecture on their list; links come and go through the API only."""

    model = LectureLink
    extra = 0
    fields = ("user", "user_clerk_id", "created_at")
    readonly_fields = fields
    can_delete = False
    verbose_name = "linked user"
    verbose_name_plural = "linked users"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The row's label names the lecture too: fetch it with the link, not once per row.
        return super().get_queryset(request).select_related("user", "lecture")

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="Clerk id")
    def user_clerk_id(self, link: LectureLink) -> str:
        return link.user.clerk_id or "—"


@admin.register(Lecture)
class LectureAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "course_code",
        "status_progress",
        "linked_users_count",
        "duration",
        "audio_size",
        "short_error",
        "created_at",
        "updated_at",
        "completed_at",
    )
    list_select_related = ("course",)
    list_filter = (
        "status",
        "source",
        ("course__is_official", OfficialCourseFilter),
        "created_at",
        "completed_at",
        "updated_at",
    )
    search_fields = (
        "title",
        "panopto_session_id",
        "course__code",
        "links__user__email",
        "links__user__clerk_id",
    )
    search_help_text = "Title, Panopto session id, course code, linked user's email or Clerk id."
    date_hierarchy = "created_at"
    actions = ("retry_download", "delete_with_audio")
    inlines = (LectureLinkInline,)
    # What the pipeline owns is read-only; staff may fix a title.
    readonly_fields = (
        "id",
        "course",
        "panopto_session_id",
        "panopto_url",
        "source",
        "upload_storage_key",
        "status",
        "progress",
        "attempt_count",
        "claim_token",
        "heartbeat_at",
        "error_message",
        "audio_file",
        "audio_storage_key",
        "audio_size",
        "duration",
        "created_by",
        "created_at",
        "updated_at",
        "completed_at",
    )
    # The signed stream URL carries credentials: never shown, as in the API.
    fieldsets = (
        (None, {"fields": ("id", "title", "course", "panopto_session_id", "panopto_url")}),
        ("Source", {"fields": ("source", "upload_storage_key")}),
        ("Status", {"fields": ("status", "progress", "error_message", "attempt_count")}),
        (
            "Audio",
            {"fields": ("audio_file", "audio_storage_key", "audio_size", "duration")},
        ),
        ("Worker claim", {"classes": ("collapse",), "fields": ("claim_token", "heartbeat_at")}),
        ("Dates", {"fields": ("created_by", "created_at", "updated_at", "completed_at")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .select_related("course", "created_by")
            .annotate(linked_user_count=Count("links", distinct=True))
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A lecture starts from a student's download request (POST /api/lectures/download).
        return False

    def get_urls(self):
        audio = self.admin_site.admin_view(self.audio_view)
        return [
            path("<uuid:object_id>/audio/", audio, name="lectures_lecture_audio"),
            *super().get_urls(),
        ]

    def audio_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The lecture's .m4a, streamed (with Range) for staff who may view lectures."""
        lecture = get_object_or_404(Lecture, pk=object_id)
        if not self.has_view_permission(request, lecture):
            raise PermissionDenied
        if not lecture.audio_storage_key:
            raise Http404("This lecture has no audio.")
        return stream_stored_file(lambda: stored_file_response(request, lecture.audio_file()))

    @admin.display(description="course", ordering="course__code")
    def course_code(self, lecture: Lecture) -> str:
        return lecture.course.code

    @admin.display(description="status", ordering="status")
    def status_progress(self, lecture: Lecture) -> str:
        label = lecture.status
        if lecture.status in Lecture.RUNNING:
            label = f"{lecture.status} {lecture.progress} %"
        return format_html(
            '<span style="color: {}; font-weight: bold">{}</span>',
            _STATUS_COLOURS.get(lecture.status, "inherit"),
            label,
        )

    @admin.display(description="users", ordering="linked_user_count")
    def linked_users_count(self, lecture: Lecture) -> int:
        return lecture.linked_user_count

    @admin.display(description="duration", ordering="duration_seconds")
    def duration(self, lecture: Lecture) -> str:
        return human_duration(lecture.duration_seconds)

    @admin.display(description="audio size", ordering="audio_size_bytes")
    def audio_size(self, lecture: Lecture) -> str:
        return human_size(lecture.audio_size_bytes)

    @admin.display(description="error")
    def short_error(self, lecture: Lecture) -> str:
        return Truncator(lecture.error_message).chars(60) or "—"

    @admin.display(description="audio file")
    def audio_file(self, lecture: Lecture) -> str:
        if not lecture.audio_storage_key:
            return "—"
        return file_link("admin:lectures_lecture_audio", lecture.pk, "Play / download (.m4a)")

    @admin.action(description="Retry download (failed lectures)", permissions=["change"])
    def retry_download(self, request: HttpRequest, queryset: QuerySet) -> None:
        queued = skipped = 0
        for lecture_id in queryset.values_list("pk", flat=True):
            if lecture_requeue_failed(lecture_id=lecture_id):
                queued += 1
            else:
                skipped += 1
        text = f"Queued {queued} lecture{'s' if queued != 1 else ''} for download"
        if skipped:
            text += f"; skipped {skipped} that {'was' if skipped == 1 else 'were'} not failed"
        self.message_user(request, text + ".", messages.SUCCESS if queued else messages.WARNING)

    @admin.action(description="Delete with audio", permissions=["delete"])
    def delete_with_audio(self, request: HttpRequest, queryset: QuerySet):
        return confirm_delete_with_files(
            self,
            request,
            queryset,
            action="delete_with_audio",
            files=[
                (lecture, lecture.audio_storage_key, lecture.audio_size_bytes)
                for lecture in queryset.select_related("course")
            ],
            delete_one=lambda lecture: lecture_delete(lecture=lecture),
            noun="lecture",
        )


@admin.register(LectureLink)
class LectureLinkAdmin(admin.ModelAdmin):
    list_display = (
        "user",
        "user_clerk_id",
        "lecture",
        "course_code",
        "lecture_status",
        "created_at",
    )
    list_select_related = ("user", "lecture__course")
    list_filter = ("lecture__status", "created_at")
    search_fields = (
        "user__email",
        "user__clerk_id",
        "lecture__title",
        "lecture__panopto_session_id",
        "lecture__course__code",
    )
    autocomplete_fields = ("user", "lecture")
    readonly_fields = ("id", "created_at")
    fields = ("id", "user", "lecture", "created_at")

    def get_readonly_fields(self, request: HttpRequest, obj: LectureLink | None = None):
        # Re-pointing a link would strand its old lecture without the last-link clean-up:
        # a link is added or deleted, never moved.
        if obj is not None:
            return (*self.readonly_fields, "user", "lecture")
        return self.readonly_fields

    @admin.display(description="Clerk id", ordering="user__clerk_id")
    def user_clerk_id(self, link: LectureLink) -> str:
        return link.user.clerk_id or "—"

    @admin.display(description="course", ordering="lecture__course__code")
    def course_code(self, link: LectureLink) -> str:
        return link.lecture.course.code

    @admin.display(description="status", ordering="lecture__status")
    def lecture_status(self, link: LectureLink) -> str:
        return link.lecture.status
