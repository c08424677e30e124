"""The admin's jobs dashboard: every registered kind of job (``core.selectors.job_kinds``)
with its counts, its oldest queued row and its latest failures, on one page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.apps import apps
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from core.selectors import JobCounts, JobFailure, JobKind, job_counts, job_failures, job_kinds

# Failures listed per kind; the failed list in the admin has the rest.
FAILURES_SHOWN = 10


@dataclass(frozen=True)
class _Failure:
    failure: JobFailure
    change_url: str


@dataclass(frozen=True)
class _KindPanel:
    kind: JobKind
    verbose_name: str  # of the admin model that shows the rows ("lecture")
    counts: JobCounts
    failures: list[_Failure]
    failed_list_url: str | None
    changelist_url: str
    retry_action: str | None
    retry_label: str


def jobs_dashboard(request: HttpRequest) -> TemplateResponse:
    """Staff see the kinds whose admin pages they may view (the audio and transcripts with
    the lectures, the text with the documents, …); a member who may view none gets 403."""
    site = admin.site
    now = timezone.now()
    panels = []
    for kind in job_kinds():
        model = apps.get_model(kind.shown_on)
        model_admin = site.get_model_admin(model)
        if not model_admin.has_view_permission(request):
            continue
        panels.append(_panel(request, kind, model_admin, now=now))
    if not panels:
        raise PermissionDenied
    context = {
        **site.each_context(request),
        "title": "Jobs",
        "subtitle": None,
        "panels": panels,
        "now": now,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/jobs_dashboard.html", context)


def _panel(
    request: HttpRequest, kind: JobKind, model_admin: admin.ModelAdmin, *, now: datetime
) -> _KindPanel:
    opts = model_admin.model._meta
    url_name = f"admin:{opts.app_label}_{opts.model_name}"
    changelist_url = reverse(f"{url_name}_changelist")
    failures = [
        _Failure(failure, reverse(f"{url_name}_change", args=[failure.object_id]))
        for failure in job_failures(kind, limit=FAILURES_SHOWN)
    ]
    # Only an action this member may run (``get_actions`` leaves out the others).
    action = model_admin.get_actions(request).get(kind.retry_action or "")
    return _KindPanel(
        kind=kind,
        verbose_name=str(opts.verbose_name),
        counts=job_counts(kind, now=now),
        failures=failures,
        failed_list_url=f"{changelist_url}?{kind.failed_filter}" if kind.failed_filter else None,
        changelist_url=changelist_url,
        retry_action=kind.retry_action if action else None,
        retry_label=str(action[2]) if action else "",
    )
