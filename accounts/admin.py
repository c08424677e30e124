from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import DeletedClerkUser, User, WebhookDelivery
from accounts.selectors import user_usage_annotations
from core.admin import human_size


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    # A Clerk user's username is their UUID: the list leads with what a person recognises,
    # newest first (sorting by UUID would be no order at all).
    list_display = (
        "email",
        "first_name",
        "last_name",
        "clerk_id",
        "username",
        "document_count",
        "document_storage",
        "lecture_count",
        "is_staff",
        "date_joined",
        "last_login",
    )
    list_display_links = ("email", "username")
    ordering = ("-date_joined",)
    list_filter = ("is_staff", "is_superuser", "is_active", "date_joined")
    search_fields = ("username", "email", "first_name", "last_name", "clerk_id")
    readonly_fields = (
        "id",
        "clerk_id",
        "date_joined",
        "last_login",
        "course_count",
        "lecture_count",
        "document_count",
        "document_storage",
    )
    fieldsets = (
        (None, {"fields": ("id", "clerk_id", "username", "password")}),
        ("Profile", {"fields": ("first_name", "last_name", "email")}),
        (
            "Usage",
            {"fields": ("course_count", "lecture_count", "document_count", "document_storage")},
        ),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("date_joined", "last_login")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The list and the change page read usage from these columns: one query per page.
        return super().get_queryset(request).annotate(**user_usage_annotations())

    @admin.display(description="courses", ordering="usage_courses")
    def course_count(self, user: User) -> int:
        return getattr(user, "usage_courses", 0)

    @admin.display(description="lectures", ordering="usage_lectures")
    def lecture_count(self, user: User) -> int:
        return getattr(user, "usage_lectures", 0)

    @admin.display(description="documents", ordering="usage_documents")
    def document_count(self, user: User) -> int:
        return getattr(user, "usage_documents", 0)

    @admin.display(description="document storage", ordering="usage_document_bytes")
    def document_storage(self, user: User) -> str:
        return human_size(getattr(user, "usage_document_bytes", 0))


class _ReadOnlyLogAdmin(admin.ModelAdmin):
    """A log: staff read it; only the service writes it."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(DeletedClerkUser)
class DeletedClerkUserAdmin(_ReadOnlyLogAdmin):
    list_display = ("clerk_id", "recorded_at")
    search_fields = ("clerk_id",)
    date_hierarchy = "recorded_at"
    fields = ("clerk_id", "deleted_at_ms", "recorded_at")
    readonly_fields = fields


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(_ReadOnlyLogAdmin):
    list_display = ("received_at", "event_type", "clerk_id", "outcome", "svix_id")
    list_filter = ("event_type",)
    search_fields = ("svix_id", "clerk_id")
    date_hierarchy = "received_at"
    fields = ("svix_id", "event_type", "clerk_id", "outcome", "received_at")
    readonly_fields = fields
