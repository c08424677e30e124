"""The domain error tree and the one handler that maps errors to HTTP.

Services raise ``DomainError`` subclasses; views never build error responses themselves.
Every error body is ``{"detail": ..., "code": ...}``. A 400 also carries the field errors,
DRF-style, under ``errors`` (``{"errors": {"course_id": ["..."]}}``) and, for each field
whose name is not ``detail``, ``code`` or ``errors``, beside them at the top level too.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class DomainError(Exception):
    """A refusal a user can act on. ``field`` names the input at fault, if any."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"
    default_detail = "Invalid request."

    def __init__(self, detail: str | None = None, *, field: str | None = None) -> None:
        self.detail = detail or self.default_detail
        self.field = field
        super().__init__(self.detail)


class InvalidInput(DomainError):
    pass


class NotFound(DomainError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    default_detail = "Not found."


class Conflict(DomainError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"
    default_detail = "The resource is not in a state that allows this."


class PayloadTooLarge(DomainError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "too_large"
    default_detail = "The upload is too large."


class UnsupportedMediaType(DomainError):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    code = "unsupported_media_type"
    default_detail = "Unsupported file type."


class ServiceUnavailable(DomainError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "unavailable"
    default_detail = "The service is temporarily unavailable."


def _first_code(codes: Any) -> str:
    if isinstance(codes, str):
        return codes
    if isinstance(codes, dict):
        for value in codes.values():
            return _first_code(value)
    if isinstance(codes, list) and codes:
        return _first_code(codes[0])
    return "invalid"


_RESERVED = frozenset({"detail", "code", "errors"})


def _error_body(detail: str, code: str, field_errors: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": detail, "code": code}
    if field_errors:
        body["errors"] = field_errors
        body.update({k: v for k, v in field_errors.items() if k not in _RESERVED})
    return body


def _validation_body(exc: exceptions.ValidationError) -> dict[str, Any]:
    data = exc.detail
    code = _first_code(exc.get_codes())
    if isinstance(data, dict):
        return _error_body("Invalid input.", code, dict(data))
    messages = data if isinstance(data, list) else [data]
    detail = str(messages[0]) if messages else "Invalid input."
    return _error_body(detail, code, {"non_field_errors": messages})


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        field_errors = {exc.field: [exc.detail]} if exc.field else {}
        return Response(_error_body(exc.detail, exc.code, field_errors), status=exc.status_code)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = _validation_body(exc)
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        code = getattr(detail, "code", None) or exc.default_code
        response.data = {"detail": str(detail), "code": code}
    else:  # Http404 and PermissionDenied, which DRF turned into API errors
        code = "not_found" if response.status_code == 404 else "permission_denied"
        response.data = {"detail": str(response.data.get("detail", "")), "code": code}
    return response
