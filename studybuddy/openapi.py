"""Shared pieces of the OpenAPI description: the error bodies every route may answer."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()


class ValidationErrorSerializer(serializers.Serializer):
    """A 400: ``detail`` and ``code``, plus one list of messages per field at fault."""

    detail = serializers.CharField()
    code = serializers.CharField()


_DESCRIPTIONS = {
    400: "Invalid input; field errors are listed under the field's name.",
    401: "Missing, invalid or expired session token.",
    404: "Not found (or not yours).",
    409: "Not possible in the resource's current state.",
    413: "Too large.",
    415: "Unsupported file type.",
    416: "Range not satisfiable.",
    503: "Not ready.",
}


def error_responses(*status_codes: int) -> dict[int, OpenApiResponse]:
    """``{status: OpenApiResponse}`` for the error statuses of a route (401 always)."""
    responses: dict[int, OpenApiResponse] = {}
    for code in sorted({401, *status_codes}):
        serializer = ValidationErrorSerializer if code == 400 else ErrorSerializer
        responses[code] = OpenApiResponse(serializer, description=_DESCRIPTIONS[code])
    return responses
