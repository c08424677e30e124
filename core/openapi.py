"""Shared pieces of the OpenAPI description: the error bodies every route may answer, what
the conditional reads (``core.conditional``) and the file routes (``stored_file_response``)
answer."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()


class ValidationErrorSerializer(serializers.Serializer):
    """A 400: ``detail`` and ``code``, plus one list of messages per field at fault."""

    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="The messages of each field at fault (also given under the field's name).",
    )


_DESCRIPTIONS = {
    400: "Invalid input; field errors are listed under the field's name.",
    401: "Missing, invalid or expired session token.",
    403: "Refused: it would exceed your storage quota (`quota_exceeded`).",
    404: "Not found (or not yours).",
    409: "Not possible in the resource's current state.",
    412: "The file's `ETag` does not match `If-Match`.",
    413: "Too large.",
    415: "Unsupported file type.",
    416: "Range not satisfiable.",
    429: (
        "Too many requests: try again after `Retry-After` seconds (`throttled`), or too many "
        "of your lecture downloads in progress (`too_many_active_downloads`)."
    ),
    503: "Temporarily unavailable (storage or queue); try again later.",
}


def error_responses(*status_codes: int) -> dict[int, OpenApiResponse]:
    """``{status: OpenApiResponse}`` for the error statuses of a route (401 and 429, the
    rate limit, always)."""
    responses: dict[int, OpenApiResponse] = {}
    for code in sorted({401, 429, *status_codes}):
        serializer = ValidationErrorSerializer if code == 400 else ErrorSerializer
        responses[code] = OpenApiResponse(serializer, description=_DESCRIPTIONS[code])
    return responses


FILE_PARAMETERS = [
    OpenApiParameter(
        "Range",
        str,
        location=OpenApiParameter.HEADER,
        description=(
            "GET only (HEAD ignores it). One byte range, e.g. `bytes=0-1023` or `bytes=-500`, "
            "answers 206; several ranges, or a unit other than `bytes`, answer the whole file."
        ),
    ),
    OpenApiParameter(
        "If-Range",
        str,
        location=OpenApiParameter.HEADER,
        description="The `ETag` the client holds: `Range` applies only if it still matches.",
    ),
    OpenApiParameter(
        "If-None-Match", str, location=OpenApiParameter.HEADER, description="A previous `ETag`."
    ),
    OpenApiParameter(
        "If-Match",
        str,
        location=OpenApiParameter.HEADER,
        description="Answer only if the file still has this `ETag` (else 412).",
    ),
]


def file_responses(content_type: str, description: str, *status_codes: int) -> dict:
    """Every answer of a file route: the bytes (200), a range (206), unchanged (304), and
    the errors (412 when ``If-Match`` fails, 416 for an unsatisfiable range, 503 when
    storage is down, and ``status_codes``)."""
    return {
        (200, content_type): OpenApiResponse(OpenApiTypes.BINARY, description=description),
        (206, content_type): OpenApiResponse(
            OpenApiTypes.BINARY, description="The requested byte range."
        ),
        304: OpenApiResponse(description="Unchanged since the `If-None-Match` ETag."),
        **error_responses(404, 412, 416, 503, *status_codes),
    }


CONDITIONAL_PARAMETERS = [
    OpenApiParameter(
        "If-None-Match",
        str,
        location=OpenApiParameter.HEADER,
        description=(
            "The `ETag` of an answer the client holds (or a list of them, or `*`): if it is "
            "still the current one, the answer is 304 with no body."
        ),
    ),
    OpenApiParameter(
        "ETag",
        str,
        location=OpenApiParameter.HEADER,
        response=[200, 304],
        description="The body's strong entity tag; it changes whenever the body does.",
    ),
]


def conditional_responses(body: Any, description: str) -> dict[int, OpenApiResponse]:
    """The two successful answers of a conditional read (``core.conditional``, with
    ``CONDITIONAL_PARAMETERS``): the body (200) and unchanged (304)."""
    return {
        200: OpenApiResponse(body, description=description),
        304: OpenApiResponse(
            description="Unchanged: `If-None-Match` names the current `ETag`. No body."
        ),
    }
