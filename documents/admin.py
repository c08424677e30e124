from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path

from core.admin import (
    OfficialCourseFilter,
    confirm_delete_with_files,
    file_link,
    human_size,
    stream_stored_file,
)
from core.files import stored_file_response
from documents.models import Document
from documents.services import document_delete


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ("original_filename", "owner", "course_code", "size", "created_at")
    list_select_related = ("owner", "course")
    list_filter = ("created_at", ("course__is_official", OfficialCourseFilter))
    search_fields = (
        "original_filename",
        "owner__email",
        "owner__clerk_id",
        "course__code",
        "sha256",
    )
    search_help_text = "File name, owner's email or Clerk id, course code, SHA-256."
    date_hierarchy = "created_at"
    actions = ("delete_with_file",)
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
    )
    fields = (
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
