from __future__ import annotations

from datetime import datetime

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from core.admin import (
    OfficialCourseFilter,
    confirm_delete_with_files,
    file_link,
    human_size,
    stream_stored_file,
)
from core.files import stored_file_response
from documents.models import Document, DocumentPage, TextStatus
from documents.services import document_delete, document_text_requeue

# The document page shows the text of the first pages, each cut: enough to moderate, and a
# 2000-page document still renders at once.
TEXT_PREVIEW_PAGES = 5
TEXT_PREVIEW_CHARS = 3000


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = (
        "original_filename",
        "owner",
        "course_code",
        "size",
        "page_count",
        "text_status",
        "created_at",
    )
    list_select_related = ("owner", "course", "text")
    list_filter = ("text__status", "created_at", ("course__is_official", OfficialCourseFilter))
    search_fields = (
        "original_filename",
        "owner__email",
        "owner__clerk_id",
        "course__code",
        "sha256",
    )
    search_help_text = "File name, owner's email or Clerk id, course code, SHA-256."
    date_hierarchy = "created_at"
    actions = ("extract_text_again", "delete_with_file")
    # Staff may correct a display name; the bytes and where they live belong to the system.
    readonly_fields = (
        "id",
        "owner",
        "course",
        "file",
        "size",
        "sha256",
        "storage_key",
        "created_at",
        "updated_at",
        "text_status",
        "page_count",
        "text_error",
        "text_attempt_count",
        "text_heartbeat_at",
        "text_preview",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "id",
                    "original_filename",
                    "owner",
                    "course",
                    "file",
                    "size",
                    "sha256",
                    "storage_key",
                    "created_at",
                    "updated_at",
                )
            },
        ),
        (
            "Text",
            {
                "fields": (
                    "text_status",
                    "page_count",
                    "text_error",
                    "text_attempt_count",
                    "text_heartbeat_at",
                    "text_preview",
                )
            },
        ),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Documents arrive through the streamed, checksummed upload (POST /api/documents/upload).
        return False

    def get_urls(self):
        view = self.admin_site.admin_view(self.file_view)
        return [
            path("<uuid:object_id>/file/", view, name="documents_document_file"),
            *super().get_urls(),
        ]

    def file_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The stored PDF, streamed (with Range) for staff who may view documents."""
        document = get_object_or_404(Document, pk=object_id)
        if not self.has_view_permission(request, document):
            raise PermissionDenied
        return stream_stored_file(lambda: stored_file_response(request, document.stored_file()))

    @admin.display(description="course", ordering="course__code")
    def course_code(self, document: Document) -> str:
        return document.course.code

    @admin.display(description="size", ordering="size_bytes")
    def size(self, document: Document) -> str:
        return human_size(document.size_bytes)

    @admin.display(description="file")
    def file(self, document: Document) -> str:
        return file_link("admin:documents_document_file", document.pk, "Open / download (PDF)")

    # The text's state, a row of its own (``document.text``).

    @admin.display(description="text status", ordering="text__status")
    def text_status(self, document: Document) -> str:
        return document.text.get_status_display()

    @admin.display(description="page count", ordering="text__page_count")
    def page_count(self, document: Document) -> int | None:
        return document.text.page_count

    @admin.display(description="text error")
    def text_error(self, document: Document) -> str:
        return document.text.error_message

    @admin.display(description="text attempt count")
    def text_attempt_count(self, document: Document) -> int:
        return document.text.attempt_count

    @admin.display(description="text heartbeat at")
    def text_heartbeat_at(self, document: Document) -> datetime | None:
        return document.text.heartbeat_at

    @admin.display(description="text (first pages)")
    def text_preview(self, document: Document) -> str:
        if document.text.status != TextStatus.COMPLETED:
            return "—"
        pages = DocumentPage.objects.filter(document=document).order_by("number")
        shown = list(pages.values_list("number", "text")[:TEXT_PREVIEW_PAGES])
        if not shown:
            return "(no pages)"
        more = (document.text.page_count or 0) - len(shown)
        rows = format_html_join(
            "",
            '<p><strong>Page {}</strong></p><pre style="white-space: pre-wrap">{}</pre>',
            (
                (number, Truncator(text).chars(TEXT_PREVIEW_CHARS) or "(no text)")
                for number, text in shown
            ),
        )
        tail = format_html("<p>… and {} more pages</p>", more) if more > 0 else ""
        return format_html("{}{}", rows, tail)

    @admin.action(description="Extract text again", permissions=["change"])
    def extract_text_again(self, request: HttpRequest, queryset: QuerySet) -> None:
        queued = skipped = 0
        for document_id in queryset.values_list("pk", flat=True):
            if document_text_requeue(document_id=document_id):
                queued += 1
            else:
                skipped += 1
        text = f"Queued {queued} document{'s' if queued != 1 else ''} for text extraction"
        if skipped:
            text += f"; skipped {skipped} being extracted right now"
        self.message_user(request, text + ".", messages.SUCCESS)

    @admin.action(description="Delete with file", permissions=["delete"])
    def delete_with_file(self, request: HttpRequest, queryset: QuerySet):
        return confirm_delete_with_files(
            self,
            request,
            queryset,
            action="delete_with_file",
            files=[(doc, doc.storage_key, doc.size_bytes) for doc in queryset],
            delete_one=lambda document: document_delete(document=document),
            noun="document",
        )
