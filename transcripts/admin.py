"""The transcript in the lecture admin: a status column and filter, the text on the
lecture's page, and the "Transcribe again" action. The lectures app knows nothing of
transcripts, so this app extends its admin: ``LectureAdmin`` is registered again with
these added (the app comes after ``lectures`` in ``INSTALLED_APPS``)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from core.exceptions import DomainError
from lectures.admin import LectureAdmin
from lectures.models import Lecture
from transcripts import selectors, services
from transcripts.models import TranscriptStatus

# The lecture page shows this much of the transcript; the API serves all of it.
ADMIN_TEXT_CHARS = 20_000
_COLOURS = {
    TranscriptStatus.NONE: "#777",
    TranscriptStatus.QUEUED: "#777",
    TranscriptStatus.TRANSCRIBING: "#205493",
    TranscriptStatus.COMPLETED: "#2e8540",
    TranscriptStatus.FAILED: "#ba2121",
}


class TranscriptStatusFilter(admin.SimpleListFilter):
    title = "transcript"
    parameter_name = "transcript"

    def lookups(self, request, model_admin):
        return TranscriptStatus.choices

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        if value == TranscriptStatus.NONE:
            return queryset.filter(
                Q(transcript__isnull=True) | Q(transcript__status=TranscriptStatus.NONE)
            )
        return queryset.filter(transcript__status=value)


class TranscriptAdminMixin:
    """For ``LectureAdmin``, whose queryset selects ``transcript`` along."""

    @admin.display(description="transcript", ordering="transcript__status")
    def transcript_state(self, lecture: Lecture) -> str:
        summary = selectors.transcript_summary(lecture)
        label = summary.status
        if summary.status == TranscriptStatus.TRANSCRIBING:
            label = f"{summary.status} {summary.progress} %"
        elif summary.status == TranscriptStatus.FAILED and summary.error:
            label = f"failed: {summary.error[:80]}"
        return format_html(
            '<span style="color: {}">{}</span>', _COLOURS.get(summary.status, "inherit"), label
        )

    @admin.display(description="transcript text")
    def transcript_text(self, lecture: Lecture) -> str:
        text, cut = selectors.transcript_text(lecture_id=lecture.pk, max_chars=ADMIN_TEXT_CHARS)
        if not text:
            return "—"
        more = f"\n… (first {ADMIN_TEXT_CHARS:,} characters; the API serves all)" if cut else ""
        return format_html(
            '<div style="white-space: pre-wrap; max-height: 30em; overflow: auto">{}{}</div>',
            text,
            more,
        )

    @admin.action(description="Transcribe again", permissions=["change"])
    def transcribe_again(self, request: HttpRequest, queryset: QuerySet) -> None:
        if not services.transcription_enabled():
            self.message_user(
                request,
                "Transcription is turned off (TRANSCRIPTION_BACKEND=none).",
                messages.ERROR,
            )
            return
        queued, skipped = 0, []
        for lecture in queryset.select_related("transcript"):
            try:
                services.transcript_request(lecture=lecture, user=None, force=True)
                queued += 1
            except DomainError as error:
                skipped.append(f"{lecture}: {error.detail}")
        text = f"Queued {queued} lecture{'s' if queued != 1 else ''} for transcription"
        if skipped:
            text += f"; skipped {len(skipped)} ({'; '.join(skipped[:5])})"
        self.message_user(request, text + ".", messages.SUCCESS if queued else messages.WARNING)


def _after(items: tuple, anchor: object, *added: object) -> tuple:
    """``items`` with ``added`` right after ``anchor``."""
    at = items.index(anchor) + 1
    return (*items[:at], *added, *items[at:])


def _fieldset_named(name: str) -> tuple:
    return next(fieldset for fieldset in LectureAdmin.fieldsets if fieldset[0] == name)


class LectureWithTranscriptAdmin(TranscriptAdminMixin, LectureAdmin):
    list_display = _after(LectureAdmin.list_display, "status_progress", "transcript_state")
    list_filter = _after(LectureAdmin.list_filter, "source", TranscriptStatusFilter)
    actions = _after(LectureAdmin.actions, "retry_download", "transcribe_again")
    readonly_fields = (*LectureAdmin.readonly_fields, "transcript_state", "transcript_text")
    fieldsets = _after(
        LectureAdmin.fieldsets,
        _fieldset_named("Audio"),
        ("Transcript", {"fields": ("transcript_state", "transcript_text")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("transcript")


admin.site.unregister(Lecture)
admin.site.register(Lecture, LectureWithTranscriptAdmin)
