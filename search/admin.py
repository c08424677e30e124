"""The embedding rows in the admin: what each source's job did, read-only, and "Queue again"."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.text import Truncator

from search import services
from search.models import Embedding


@admin.register(Embedding)
class EmbeddingAdmin(admin.ModelAdmin):
    list_display = (
        "source",
        "status",
        "progress",
        "embedded_count",
        "passage_count",
        "model",
        "error",
        "updated_at",
    )
    list_filter = ("status",)
    list_select_related = ("lecture", "document")
    search_fields = ("lecture__title", "document__original_filename", "model")
    search_help_text = "Lecture title, document file name, model."
    ordering = ("-updated_at",)
    actions = ("queue_again",)
    fields = (
        "source",
        "status",
        "progress",
        "embedded_count",
        "passage_count",
        "model",
        "error_message",
        "attempt_count",
        "heartbeat_at",
        "completed_at",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    # The job owns these rows: staff look, and queue a source again.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Embedding | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Embedding | None = None) -> bool:
        return False

    def has_queue_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("search.change_embedding")

    @admin.display(description="source")
    def source(self, embedding: Embedding) -> str:
        if embedding.lecture_id:
            return f"lecture: {embedding.lecture.title or embedding.lecture_id}"
        return f"document: {embedding.document.original_filename}"

    @admin.display(description="error")
    def error(self, embedding: Embedding) -> str:
        return Truncator(embedding.error_message).chars(80)

    @admin.action(description="Queue again", permissions=["queue"])
    def queue_again(self, request: HttpRequest, queryset: QuerySet) -> None:
        if not services.embeddings_enabled():
            self.message_user(
                request,
                "Embeddings are turned off (EMBEDDINGS_BACKEND=none) or the database has no "
                "pgvector.",
                messages.ERROR,
            )
            return
        outcomes = [
            services.embedding_requeue(lecture_id=lecture_id, document_id=document_id)
            for lecture_id, document_id in queryset.values_list("lecture_id", "document_id")
        ]
        queued = outcomes.count("queued")
        text = f"Queued {queued} source{'s' if queued != 1 else ''} for embedding"
        skipped = [outcome for outcome in outcomes if outcome != "queued"]
        if skipped:
            text += f"; {len(skipped)} skipped ({'; '.join(sorted(set(skipped)))})"
        self.message_user(request, text + ".", messages.SUCCESS if queued else messages.WARNING)
