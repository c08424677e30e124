"""``/api/lectures``: Panopto download requests, recording uploads, lecture status and audio."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.selectors import user_is_api_admin
from core.conditional import ConditionalGetMixin
from core.exceptions import ObjectNotFound, StateConflict
from core.files import IgnoreAcceptNegotiation, stored_file_response
from core.openapi import (
    CONDITIONAL_PARAMETERS,
    FILE_PARAMETERS,
    conditional_responses,
    error_responses,
    file_responses,
)
from core.validators import no_control_characters, uuid_or_404
from lectures import selectors, services
from lectures.models import TRANSCRIPT_STATUS_CHOICES, TRANSCRIPT_STATUSES, Lecture
from lectures.uploads import read_recording_upload


class TranscriptFields(serializers.Serializer):
    """``transcript_status``, ``transcript_progress``, ``transcript_error`` of a lecture
    body: always present, ``none``/0/"" when the lecture has no transcript. Read through the
    relation the transcripts app adds (``lecture.transcript``), free when the lecture was
    read with ``select_related("transcript")``."""

    transcript_status = serializers.SerializerMethodField()
    transcript_progress = serializers.SerializerMethodField()
    transcript_error = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ChoiceField(choices=TRANSCRIPT_STATUS_CHOICES))
    def get_transcript_status(self, lecture: Lecture) -> str:
        transcript = getattr(lecture, "transcript", None)
        return transcript.status if transcript else TRANSCRIPT_STATUSES[0]

    @extend_schema_field(OpenApiTypes.INT)
    def get_transcript_progress(self, lecture: Lecture) -> int:
        transcript = getattr(lecture, "transcript", None)
        return transcript.progress if transcript else 0

    @extend_schema_field(OpenApiTypes.STR)
    def get_transcript_error(self, lecture: Lecture) -> str:
        transcript = getattr(lecture, "transcript", None)
        return transcript.error_message if transcript else ""


TRANSCRIPT_FIELDS = ["transcript_status", "transcript_progress", "transcript_error"]


class LectureSerializer(TranscriptFields, serializers.ModelSerializer):
    course_id = serializers.UUIDField(read_only=True)
    # Not a URL field: an uploaded recording may come without a Panopto link ("").
    panopto_url = serializers.CharField(
        read_only=True, help_text="The Panopto link; empty for an upload sent without one."
    )

    class Meta:
        model = Lecture
        fields = [
            "id",
            "course_id",
            "title",
            "panopto_url",
            "panopto_session_id",
            "status",
            "progress",
            "duration_seconds",
            "audio_size_bytes",
            "error_message",
            "created_at",
            "updated_at",
            "completed_at",
            *TRANSCRIPT_FIELDS,
        ]
        read_only_fields = fields


class LectureStatusSerializer(serializers.Serializer):
    """The selector's dict (``lecture_status_for_user``), not a model instance."""

    id = serializers.UUIDField(read_only=True)
    status = serializers.ChoiceField(choices=Lecture.Status.choices, read_only=True)
    progress = serializers.IntegerField(read_only=True)
    error_message = serializers.CharField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    transcript_status = serializers.ChoiceField(choices=TRANSCRIPT_STATUS_CHOICES, read_only=True)
    transcript_progress = serializers.IntegerField(read_only=True)
    transcript_error = serializers.CharField(read_only=True)


class LectureDownloadSerializer(serializers.Serializer):
    course_id = serializers.UUIDField()
    panopto_url = serializers.CharField(
        max_length=2048, help_text="The Panopto viewer or embed link of the session."
    )
    stream_url = serializers.CharField(
        max_length=8192,
        write_only=True,
        help_text="The recording's MP4 or HLS (.m3u8) URL; never shown back.",
    )
    title = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        default="",
        validators=[no_control_characters],
    )


class LectureUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text=(
            "The recording: audio or video in any container FFmpeg reads (MP4, M4A, MP3, "
            "WebM…). Checked by the job, which fails the lecture if it is not media with "
            "an audio track."
        )
    )
    course_id = serializers.UUIDField(help_text="One of the caller's courses.")
    title = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        default="",
        validators=[no_control_characters],
        help_text="Defaults to the file's name.",
    )
    panopto_url = serializers.CharField(
        max_length=2048,
        required=False,
        allow_blank=True,
        default="",
        help_text=(
            "The Panopto link of the session, if the recording is one: the lecture is then "
            "shared as a download request's is."
        ),
    )


class LectureListQuerySerializer(serializers.Serializer):
    course_id = serializers.UUIDField(required=False)
    status = serializers.ChoiceField(choices=Lecture.Status.choices, required=False)


_LIST_PARAMETERS = [
    OpenApiParameter("course_id", OpenApiTypes.UUID, description="Only this course."),
    OpenApiParameter("status", str, enum=Lecture.Status.values, description="Only this status."),
]


class LectureViewSet(ConditionalGetMixin, viewsets.GenericViewSet):
    serializer_class = LectureSerializer
    queryset = Lecture.objects.none()
    # Clients poll the status: an answer they hold is 304 (core.conditional).
    conditional_actions = ("retrieve", "status_")
    throttle_scopes = {
        "download": "lecture_requests",
        "upload": "lecture_requests",
        "retry": "lecture_requests",
    }

    def _lecture(self, request: Request, pk: str, *, admin_override: bool = False) -> Lecture:
        lecture = selectors.lecture_get_for_user(
            user=request.user, lecture_id=uuid_or_404(pk), admin_override=admin_override
        )
        if lecture is None:
            raise ObjectNotFound()
        return lecture

    @extend_schema(
        summary="Add a Panopto lecture to a course and download its audio",
        request=LectureDownloadSerializer,
        responses={
            202: OpenApiResponse(LectureSerializer, description="Queued (new, or failed before)."),
            200: OpenApiResponse(LectureSerializer, description="Already there; now linked."),
            **error_responses(400),
        },
    )
    @action(detail=False, methods=["post"])
    def download(self, request: Request) -> Response:
        body = LectureDownloadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = services.lecture_request_download(user=request.user, **body.validated_data)
        return Response(
            LectureSerializer(result.lecture).data,
            status=status.HTTP_202_ACCEPTED if result.queued else status.HTTP_200_OK,
        )

    @extend_schema(
        summary="Upload a recording and extract its audio",
        description=(
            "Streamed into storage; larger than `LECTURE_UPLOAD_MAX_BYTES`: 413, refused "
            "while reading. With a `panopto_url` of a session the course already has, the "
            "existing lecture is answered (200) and the upload discarded; a failed one is "
            "queued again with this file (202)."
        ),
        request={"multipart/form-data": LectureUploadSerializer},
        responses={
            202: OpenApiResponse(LectureSerializer, description="Queued."),
            200: OpenApiResponse(LectureSerializer, description="Already there; now linked."),
            **error_responses(400, 413, 415, 503),
        },
    )
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser])
    def upload(self, request: Request) -> Response:
        read_recording_upload(request)
        body = LectureUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        result = services.lecture_upload_recording(
            user=request.user,
            course_id=data["course_id"],
            file=data["file"],
            title=data["title"],
            panopto_url=data["panopto_url"],
        )
        return Response(
            LectureSerializer(result.lecture).data,
            status=status.HTTP_202_ACCEPTED if result.queued else status.HTTP_200_OK,
        )

    @extend_schema(
        summary="My lectures",
        parameters=_LIST_PARAMETERS,
        responses={200: LectureSerializer(many=True), **error_responses(400)},
    )
    def list(self, request: Request) -> Response:
        query = LectureListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = self.paginate_queryset(
            selectors.lecture_list_for_user(user=request.user, **query.validated_data)
        )
        return self.get_paginated_response(LectureSerializer(page, many=True).data)

    @extend_schema(
        summary="A lecture",
        parameters=CONDITIONAL_PARAMETERS,
        responses={
            **conditional_responses(LectureSerializer, "The lecture."),
            **error_responses(404),
        },
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(LectureSerializer(self._lecture(request, pk)).data)

    @extend_schema(
        summary="A lecture's progress",
        description="Polled by clients: send the `ETag` back in `If-None-Match` to get 304.",
        parameters=CONDITIONAL_PARAMETERS,
        responses={
            **conditional_responses(LectureStatusSerializer, "The lecture's progress."),
            **error_responses(404),
        },
    )
    @action(detail=True, methods=["get"], url_path="status", url_name="status")
    def status_(self, request: Request, pk: str) -> Response:
        lecture = selectors.lecture_status_for_user(user=request.user, lecture_id=uuid_or_404(pk))
        if lecture is None:
            raise ObjectNotFound()
        return Response(LectureStatusSerializer(lecture).data)

    @extend_schema(
        summary="The lecture's audio (.m4a)",
        description="409 while the lecture is not completed. `Range` and `ETag` supported.",
        parameters=FILE_PARAMETERS,
        responses=file_responses("audio/mp4", "The audio.", 409),
    )
    @action(detail=True, methods=["get"], content_negotiation_class=IgnoreAcceptNegotiation)
    def audio(self, request: Request, pk: str) -> HttpResponse:
        lecture = self._lecture(request, pk)
        if lecture.status != Lecture.Status.COMPLETED or not lecture.audio_storage_key:
            raise StateConflict(f"The audio is not ready: the lecture is {lecture.status}.")
        return stored_file_response(request, lecture.audio_file())

    @extend_schema(
        summary="Download a failed lecture again",
        request=None,
        responses={202: LectureSerializer, **error_responses(404, 409)},
    )
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str) -> Response:
        lecture = services.lecture_retry(lecture=self._lecture(request, pk))
        return Response(LectureSerializer(lecture).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Remove the lecture from my list",
        description=(
            "Removes the caller's link; removing the last link deletes the lecture and its "
            "audio. An API admin deletes the lecture whatever its links."
        ),
        responses={204: OpenApiResponse(description="Removed."), **error_responses(404)},
    )
    def destroy(self, request: Request, pk: str) -> Response:
        lecture = self._lecture(request, pk, admin_override=True)
        services.lecture_remove_for_user(user=request.user, lecture=lecture)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DevLectureViewSet(viewsets.GenericViewSet):
    """``/api/dev/lectures``: every lecture, for admins, when ``DEV_ROUTES_ENABLED``."""

    serializer_class = LectureSerializer
    queryset = Lecture.objects.none()

    @extend_schema(
        summary="Every lecture (dev route)",
        description="Only when DEV_ROUTES_ENABLED, and only for API admins; else 404.",
        responses={200: LectureSerializer(many=True), **error_responses(400, 404)},
    )
    def list(self, request: Request) -> Response:
        if not settings.DEV_ROUTES_ENABLED or not user_is_api_admin(request.user):
            raise ObjectNotFound()
        page = self.paginate_queryset(selectors.lecture_list_all())
        return self.get_paginated_response(LectureSerializer(page, many=True).data)
