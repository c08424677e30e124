"""Pieces the apps' admins share: file links, size and duration columns, stored-file views,
and the confirmation page of the "delete with files" actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from core.exceptions import ObjectNotFound, error_response
from core.storage import StorageUnavailable


class OfficialCourseFilter(admin.BooleanFieldListFilter):
    """``course__is_official``, titled for what it means on a lecture or document list."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.title = "official course"


def human_size(size: int | None) -> str:
    return "—" if size is None else filesizeformat(size)


def human_duration(seconds: float | None) -> str:
    """``3725.4`` → ``"1:02:05"``."""
    if seconds is None:
        return "—"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def file_link(url_name: str, object_id: Any, label: str) -> str:
    return format_html('<a href="{}">{}</a>', reverse(url_name, args=[object_id]), label)


def stream_stored_file(respond: Callable[[], HttpResponse]) -> HttpResponse:
    """Run a ``stored_file_response`` for an admin view: domain errors become admin answers
    (the API's exception handler does not run outside DRF views)."""
    try:
        return respond()
    except ObjectNotFound as exc:
        raise Http404(exc.detail) from None
    except StorageUnavailable as exc:
        return error_response(exc.detail, exc.code, status=exc.status_code)


def confirm_delete_with_files(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    *,
    action: str,
    files: list[tuple[Any, str, int | None]],
    delete_one: Callable[[Any], None],
    noun: str,
) -> TemplateResponse | None:
    """The "delete with files" actions: a confirmation page listing each row and its stored
    file, then one transaction that deletes the rows; the files go once it commits.

    ``files`` is ``(object, storage key, size)`` per selected row.
    """
    if not modeladmin.has_delete_permission(request):
        raise PermissionDenied
    if request.POST.get("post") == "yes":
        objects = [obj for obj, _, _ in files]
        with transaction.atomic():
            modeladmin.log_deletions(request, queryset)
            for obj in objects:
                delete_one(obj)
        stored = sum(1 for _, key, _ in files if key)
        modeladmin.message_user(
            request,
            f"Deleted {len(objects)} {_plural(noun, len(objects))} and "
            f"{stored} stored {_plural('file', stored)}.",
            messages.SUCCESS,
        )
        return None
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": f"Delete {len(files)} {_plural(noun, len(files))} and their files",
        "subtitle": None,
        "opts": opts,
        "files": [(obj, key, human_size(size)) for obj, key, size in files],
        "total_size": human_size(sum(size or 0 for _, _, size in files)),
        "queryset": queryset,
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": modeladmin.media,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, "admin/delete_with_files_confirmation.html", context)


def _plural(noun: str, count: int) -> str:
    return noun if count == 1 else f"{noun}s"
