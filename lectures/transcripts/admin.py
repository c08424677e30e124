"""The transcript in the lecture admin: a status column and filter, the text on the
lecture's page, and the "Transcribe again" action."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from core.exceptions import DomainError
from lectures.models import Lecture
from lectures.transcripts import selectors, services
from lectures.transcripts.models import TranscriptStatus

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
