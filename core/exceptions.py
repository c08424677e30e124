"""The domain error tree and the one handler that maps errors to HTTP.

Services raise ``DomainError`` subclasses; views never build error responses themselves.
A backend that fails under a request (the database down or restarting) is one too, by
``backend_error``: a 503 with ``Retry-After``, never a 500.
Every error body is ``{"detail": ..., "code": ...}``, built by ``error_body`` alone, whoever
answers: this handler, the 404/500 handlers (``core.views``) and the file responses
(``core.files``). A 400 also carries the field errors, DRF-style, under ``errors``
(``{"errors": {"course_id": ["..."]}}``) and, for each field whose name is not ``detail``,
``code`` or ``errors``, beside them at the top level too.

The subclasses are named for what went wrong in the domain (``ObjectNotFound``,
``StateConflict``), not for an HTTP status: DRF's ``rest_framework.exceptions`` already has
``NotFound`` and ``UnsupportedMediaType``, and one name for two classes misleads a reader
and an ``except`` clause alike.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


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
    """The request's data is wrong; ``field`` names the input, when one is at fault."""


class ObjectNotFound(DomainError):
    """No such object, or not the caller's: both answer the same 404."""

    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    default_detail = "Not found."


class StateConflict(DomainError):
    """The object exists but its state forbids the action (a lecture not yet completed)."""

    status_code = status.HTTP_409_CONFLICT
    code = "conflict"
    default_detail = "The resource is not in a state that allows this."


class UploadTooLarge(DomainError):
    """An upload over its size limit, found while it streams in."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "too_large"
    default_detail = "The upload is too large."


class UnsupportedFileType(DomainError):
    """An upload whose bytes or name are not of an accepted file type."""

    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    code = "unsupported_media_type"
    default_detail = "Unsupported file type."


class QuotaExceeded(DomainError):
    """The action would take the caller past one of their storage quotas."""

    status_code = status.HTTP_403_FORBIDDEN
    code = "quota_exceeded"
    default_detail = "This would exceed your storage quota."


class ServiceUnavailable(DomainError):
    """A backend the request needs (storage, the task queue) is down; the client may retry,
    after ``retry_after`` seconds when that is set (the answer's ``Retry-After``)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "unavailable"
    default_detail = "The service is temporarily unavailable."
    retry_after: int | None = None


class DatabaseUnavailable(ServiceUnavailable):
    """The database refused or dropped the connection: down, restarting, failing over."""

    default_detail = "The database is unavailable; try again shortly."
    # A restart or a fail-over of PostgreSQL takes seconds; the next request opens a new
    # connection (CONN_HEALTH_CHECKS), so nothing else needs to recover.
    retry_after = 5


# PostgreSQL's codes for a server that is going away or not yet there (class 08: connection
# exceptions; 57P01-57P03: shut down by an administrator, crashed, cannot connect now).
_CONNECTION_SQLSTATES = ("08", "57P01", "57P02", "57P03")


def _connection_failed(exc: Exception) -> bool:
    """True for an error of the connection itself (refused, dropped, the server restarting),
    not of what ran on it: a deadlock, a cancelled statement, a full disk or a missing table
    are errors of the service, answered by the 500 and logged with their traceback."""
    if isinstance(exc, InterfaceError):
        return True  # the connection is closed or unusable
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    if cause is None or type(cause).__module__.partition(".")[0] != "psycopg":
        return False  # SQLite's "database is locked", "no such table": not an outage
    # psycopg gives no code when the client could not reach the server or lost it.
    sqlstate = getattr(cause, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith(_CONNECTION_SQLSTATES)


def backend_error(exc: Exception) -> DomainError | None:
    """What a client is told of an error of a backend the request needs: the database's
    connection failing (``_connection_failed``) as ``DatabaseUnavailable``; ``None`` for
    anything else."""
    if _connection_failed(exc):
        # One line, no traceback: an outage is expected, and psycopg's message names it.
        logger.warning("database unavailable: %s", (str(exc).strip().splitlines() or [""])[0])
        return DatabaseUnavailable()
    return None


def error_headers(exc: DomainError) -> dict[str, str]:
    retry_after = getattr(exc, "retry_after", None)
    return {"Retry-After": str(retry_after)} if retry_after else {}


def _first_code(codes: Any) -> str:
    if isinstance(codes, str):
        return codes
    if isinstance(codes, dict):
        for value in codes.values():
            return _first_code(value)
    if isinstance(codes, list) and codes:
        return _first_code(codes[0])
    return "invalid"


# DRF says "Authentication credentials were not provided."; a request without a token is
# worded like the other two refusals of a session token, "invalid token" and "token
# expired" (README, "Authentication").
NOT_AUTHENTICATED_DETAIL = "missing token"

_RESERVED = frozenset({"detail", "code", "errors"})


def error_body(
    detail: str, code: str, field_errors: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The one JSON error body of the API: ``{"detail", "code"}``, plus the field errors.

    Every error answer is built here, so a client parses one shape whichever layer refused
    the request (a DRF view, Django's URL resolver, a file response).
    """
    body: dict[str, Any] = {"detail": detail, "code": code}
    if field_errors:
        body["errors"] = dict(field_errors)
        body.update({k: v for k, v in field_errors.items() if k not in _RESERVED})
    return body


def error_response(
    detail: str, code: str, *, status: int, headers: Mapping[str, str] | None = None
) -> JsonResponse:
    """``error_body`` as a response, for answers built outside a DRF view or its handler
    (Django's 404/500 handlers, a 416 that must carry ``Content-Range``)."""
    return JsonResponse(error_body(detail, code), status=status, headers=headers)


def _validation_body(exc: exceptions.ValidationError) -> dict[str, Any]:
    data = exc.detail
    code = _first_code(exc.get_codes())
    if isinstance(data, dict):
        return error_body("Invalid input.", code, data)
    messages = data if isinstance(data, list) else [data]
    detail = str(messages[0]) if messages else "Invalid input."
    return error_body(detail, code, {"non_field_errors": messages})


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's ``EXCEPTION_HANDLER``: domain errors, the backends' errors and DRF's own, as
    ``error_body``."""
    exc = backend_error(exc) or exc
    if isinstance(exc, DomainError):
        field_errors = {exc.field: [exc.detail]} if exc.field else {}
        return Response(
            error_body(exc.detail, exc.code, field_errors),
            status=exc.status_code,
            headers=error_headers(exc),
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = _validation_body(exc)
    elif isinstance(exc, exceptions.NotAuthenticated):
        response.data = error_body(NOT_AUTHENTICATED_DETAIL, exc.default_code)
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        code = getattr(detail, "code", None) or exc.default_code
        response.data = error_body(str(detail), code)
    else:  # Http404 and PermissionDenied, which DRF turned into API errors
        code = "not_found" if response.status_code == 404 else "permission_denied"
        response.data = error_body(str(response.data.get("detail", "")), code)
    return response
