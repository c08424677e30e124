from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import User


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
        "is_staff",
        "date_joined",
        "last_login",
    )
    list_display_links = ("email", "username")
    ordering = ("-date_joined",)
    list_filter = ("is_staff", "is_superuser", "is_active", "date_joined")
    search_fields = ("username", "email", "first_name", "last_name", "clerk_id")
    readonly_fields = ("id", "clerk_id", "date_joined", "last_login")
    fieldsets = (
        (None, {"fields": ("id", "clerk_id", "username", "password")}),
        ("Profile", {"fields": ("first_name", "last_name", "email")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("date_joined", "last_login")}),
    )
