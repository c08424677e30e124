"""The assistant in the admin: conversations read-only, and only to staff who hold the
``assistant.view_conversation_content`` permission (given per user or group under
"Authentication and Authorization"): a student's questions are theirs, so seeing them is a
permission of its own, not part of staff access. Tokens per user per day, to every staff
member with the view permission of ``DailyUsage``."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from assistant.models import Conversation, DailyUsage, Message

CONTENT_PERMISSION = "assistant.view_conversation_content"


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class MessageInline(admin.TabularInline):
    model = Message
    fields = ["created_at", "role", "status", "content", "total_tokens", "truncated", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(ReadOnly):
    list_display = ["title", "owner", "course", "updated_at"]
    list_select_related = ["owner", "course"]
    search_fields = ["owner__email", "owner__clerk_id"]
    fields = ["id", "owner", "title", "course", "created_at", "updated_at"]
    readonly_fields = fields
    inlines = [MessageInline]

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_active and request.user.has_perm(CONTENT_PERMISSION)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)


@admin.register(DailyUsage)
class DailyUsageAdmin(ReadOnly):
    list_display = ["day", "account", "user", "prompt_tokens", "completion_tokens", "total_tokens"]
    list_select_related = ["user"]
    list_filter = ["day"]
    search_fields = ["account", "user__email"]
    date_hierarchy = "day"
