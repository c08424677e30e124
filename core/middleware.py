"""Request ids and the access line: the first middleware, so it sees every answer (the
exception handler's, a 404, a redirect of the security middleware, the admin's); and the
503 of a failing backend for the views outside DRF."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from core import metrics
from core.exceptions import backend_error, error_headers, error_response
from core.logging import bind, log_context, route_template

REQUEST_ID_HEADER = "X-Request-ID"
# The client's id is kept when it is 1-200 printable ASCII characters; nginx applies the
# same rule (deploy/nginx.conf.template) and sends its own id instead of a malformed one.
_WELL_FORMED = re.compile(r"[\x20-\x7e]{1,200}")

access_logger = logging.getLogger("studybuddy.requests")


def request_id_for(sent: str | None) -> str:
    """The id of a request: the client's ``X-Request-ID`` when it is well-formed, else a
    new one (32 hex digits, as nginx's ``$request_id``)."""
    if sent is not None and _WELL_FORMED.fullmatch(sent):
        return sent
    return uuid.uuid4().hex


class RequestLogMiddleware:
    """Gives each request an id (``request.request_id``), which every line logged while it
    is answered carries and the answer returns in ``X-Request-ID``, logs one line per
    request on ``studybuddy.requests`` and counts it in the metrics: method, route template,
    status, time until the answer's head (a streamed body's transfer is not included).
    Never the path, the query string, a header or a cookie: they may carry ids, tokens and
    signed URLs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        request.request_id = request_id_for(request.headers.get(REQUEST_ID_HEADER))
        with log_context(request_id=request.request_id):
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request.request_id
            route = route_template(request)
            seconds = time.perf_counter() - started
            duration_ms = round(seconds * 1000, 1)
            access_logger.info(
                "%s %s %s %.1f ms",
                request.method,
                route or "-",
                response.status_code,
                duration_ms,
                extra={"route": route, "status": response.status_code, "duration_ms": duration_ms},
            )
        metrics.request_answered(request, status=response.status_code, seconds=seconds)
        return response

    def process_view(self, request: HttpRequest, *args: object) -> None:
        # Lines the view logs say which route they belong to.
        bind(route=route_template(request))


class BackendUnavailableMiddleware:
    """The views outside DRF (the admin's) answer a backend's failure as DRF's views do
    (``core.exceptions.backend_error``): the JSON 503 with ``Retry-After``, not the 500
    page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponseBase | None:
        error = backend_error(exception)
        if error is None:
            return None
        return error_response(
            error.detail, error.code, status=error.status_code, headers=error_headers(error)
        )
