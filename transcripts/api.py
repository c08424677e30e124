"""``/api/lectures/{id}/transcript``: read, (re)queue, or import captions."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response

from core.conditional import ConditionalGetMixin
from core.exceptions import InvalidInput, ObjectNotFound, UploadTooLarge
from core.openapi import CONDITIONAL_PARAMETERS, error_responses
from core.validators import uuid_or_404
from lectures.models import Lecture
from lectures.selectors import lecture_get_for_user
from transcripts import selectors, services
from transcripts.captions import (
    MAX_CAPTIONS_BYTES,
    SRT,
    VTT,
    render_srt,
    render_text,
    render_vtt,
)
from transcripts.models import TranscriptSource, TranscriptStatus


class TranscriptQueuedSerializer(serializers.Serializer):
    lecture_id = serializers.UUIDField()
    transcript_status = serializers.ChoiceField(choices=TranscriptStatus.choices)
    transcript_progress = serializers.IntegerField()
    transcript_error = serializers.CharField()


class TranscriptSegmentSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    start = serializers.FloatField(help_text="Seconds from the start of the audio.")
    end = serializers.FloatField()
    text = serializers.CharField()


class TranscriptSerializer(serializers.Serializer):
    lecture_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=TranscriptStatus.choices)
    source = serializers.ChoiceField(choices=TranscriptSource.choices)
    language = serializers.CharField()
    model = serializers.CharField()
    text = serializers.CharField()
    segments = TranscriptSegmentSerializer(many=True)
    updated_at = serializers.DateTimeField()


class _CaptionsParser(BaseParser):
    """The request body as bytes, at most 5 MiB; parsed (strictly) by the service."""

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH", "") if request is not None else ""
        too_large = UploadTooLarge("Captions larger than 5 MiB are not taken.")
        if declared.isdigit() and int(declared) > MAX_CAPTIONS_BYTES:
            raise too_large
        data = stream.read(MAX_CAPTIONS_BYTES + 1) if stream is not None else b""
        if len(data) > MAX_CAPTIONS_BYTES:
            raise too_large
        return data


class VttParser(_CaptionsParser):
    media_type = VTT


class SrtParser(_CaptionsParser):
    media_type = SRT


class TranscriptNegotiation(DefaultContentNegotiation):
    """``?format=`` chooses the transcript's format here, not DRF's renderer: JSON is
    rendered for the JSON answer and the errors, text formats are built by the view."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


_TEXT_FORMATS = {
    "vtt": ("text/vtt; charset=utf-8", render_vtt),
    "srt": ("application/x-subrip; charset=utf-8", render_srt),
    "txt": ("text/plain; charset=utf-8", render_text),
}


class TranscriptFormatSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=["json", "vtt", "srt", "txt"], required=False)


_NOT_READY = OpenApiResponse(
    description="`transcript_not_ready`: there is no completed transcript yet."
)


class TranscriptViewSet(ConditionalGetMixin, viewsets.GenericViewSet):
    """The transcript of a lecture the caller is linked to (anyone else: 404)."""

    queryset = Lecture.objects.none()
    # A client that holds the transcript revalidates it for a 304 (core.conditional).
    conditional_actions = ("transcript",)
    serializer_class = TranscriptSerializer
    # Asking for a transcription costs provider time; reading one does not.
    throttle_scopes = {"transcript:post": "transcriptions"}

    @extend_schema(
        methods=["GET"],
        summary="The lecture's transcript",
        description=(
            "JSON, or with `?format=` WebVTT (`vtt`), SRT (`srt`) or plain text (`txt`). "
            "409 `transcript_not_ready` until the transcript is completed. "
            "The text of the JSON, SRT and plain-text answers is plain text: captions' markup "
            "is removed and their entities decoded (`&lt;b&gt;` is stored and served as "
            "`<b>`), so whoever shows it as HTML escapes it. WebVTT escapes `&`, `<` and `>` "
            "as that format requires. Each answer carries a strong `ETag`; `If-None-Match` "
            "with the current one is 304 with no body."
        ),
        parameters=[
            OpenApiParameter("format", str, enum=["json", "vtt", "srt", "txt"], required=False),
            *CONDITIONAL_PARAMETERS,
        ],
        responses={
            (200, "application/json"): TranscriptSerializer,
            304: OpenApiResponse(
                description="Unchanged: `If-None-Match` names the current `ETag`. No body."
            ),
            (200, "text/vtt"): OpenApiResponse(OpenApiTypes.STR, description="WebVTT."),
            (200, "application/x-subrip"): OpenApiResponse(OpenApiTypes.STR, description="SRT."),
            (200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="Plain text."),
            **error_responses(400, 404, 409),
        },
    )
    @extend_schema(
        methods=["POST"],
        summary="Transcribe the lecture (again)",
        description=(
            "Queues transcription of a completed lecture whose transcript is `none` or "
            "`failed` (an API admin may redo a `completed` one). 409 while the audio is not "
            "completed or a transcription is queued or running, and "
            "`transcription_disabled` when the server has no transcription backend."
        ),
        request=None,
        responses={
            202: OpenApiResponse(TranscriptQueuedSerializer, description="Queued."),
            **error_responses(404, 409),
        },
    )
    @extend_schema(
        methods=["PUT"],
        summary="Import captions as the transcript",
        description=(
            "WebVTT (`text/vtt`) or SRT (`application/x-subrip`), at most 5 MiB (413) and "
            "`CAPTIONS_MAX_CUES` cues (default 20,000; 400 naming the limit, before any "
            "parsing), becomes the transcript (`source: captions`), with no provider call. "
            "Allowed when the transcript is `none` or `failed` (an API admin: always); else "
            "409, before the body is parsed. Malformed captions: 400 naming the line (times "
            "have at most 6 digits of hours, 2 of minutes and seconds, 3 of fraction). Cue "
            "text is stored as plain text: markup removed, entities decoded."
        ),
        request={VTT: OpenApiTypes.STR, SRT: OpenApiTypes.STR},
        responses={200: TranscriptSerializer, **error_responses(400, 404, 409, 413, 415)},
    )
    @action(
        detail=True,
        methods=["get", "post", "put"],
        url_path="transcript",
        url_name="transcript",
        parser_classes=[VttParser, SrtParser],
        content_negotiation_class=TranscriptNegotiation,
    )
    def transcript(self, request: Request, pk: str) -> HttpResponse:
        lecture = lecture_get_for_user(user=request.user, lecture_id=uuid_or_404(pk))
        if lecture is None:
            raise ObjectNotFound()
        if request.method == "POST":
            transcript = services.transcript_request(lecture=lecture, user=request.user)
            body = {
                "lecture_id": lecture.id,
                "transcript_status": transcript.status,
                "transcript_progress": transcript.progress,
                "transcript_error": transcript.error_message,
            }
            return Response(TranscriptQueuedSerializer(body).data, status=status.HTTP_202_ACCEPTED)
        if request.method == "PUT":
            data = request.data
            if not isinstance(data, bytes):
                raise InvalidInput("The captions are empty.")
            services.transcript_import_captions(
                lecture=lecture,
                user=request.user,
                data=data,
                media_type=request.content_type.split(";")[0].strip().lower(),
            )
            return Response(_transcript_body(lecture))
        query = TranscriptFormatSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        fmt = query.validated_data.get("format", "json")
        if fmt in _TEXT_FORMATS:
            content_type, render = _TEXT_FORMATS[fmt]
            _ready(lecture)
            segments = selectors.transcript_segments(lecture_id=lecture.id)
            return HttpResponse(render(segments), content_type=content_type)
        return Response(_transcript_body(lecture))


def _ready(lecture: Lecture):
    transcript = selectors.transcript_get(lecture=lecture)
    if transcript is None or transcript.status != TranscriptStatus.COMPLETED:
        raise services.TranscriptNotReady(
            "The transcript is not ready: it is "
            f"{transcript.status if transcript else TranscriptStatus.NONE}."
        )
    return transcript


def _transcript_body(lecture: Lecture) -> dict:
    transcript = _ready(lecture)
    segments = selectors.transcript_segments(lecture_id=lecture.id)
    return TranscriptSerializer(
        {
            "lecture_id": lecture.id,
            "status": transcript.status,
            "source": transcript.source,
            "language": transcript.language,
            "model": transcript.model,
            "text": " ".join(s.text for s in segments),
            "segments": [
                {"index": i, "start": s.start, "end": s.end, "text": s.text}
                for i, s in enumerate(segments)
            ],
            "updated_at": transcript.updated_at,
        }
    ).data
