"""JSON answers for ``/api/`` requests that never reach a DRF view (unknown URLs, crashes,
bodies Django refuses before any view runs)."""

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.defaults import bad_request as html_bad_request
from django.views.defaults import page_not_found
from django.views.defaults import server_error as html_server_error

from core.exceptions import error_response


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or request.path == "/api"


def _not_found_body() -> HttpResponse:
    return error_response("Not found.", "not_found", status=404)


@csrf_exempt  # any method may be unknown; a POST must get the 404, not a CSRF 403
def api_not_found(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    """The last ``/api/`` URL pattern: an unknown API path is the JSON 404.

    Routed rather than left to ``handler404`` because Django skips that handler under
    ``DEBUG`` and answers its HTML debug page, which an API client cannot read.
    """
    return _not_found_body()


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """``handler404``: the JSON body under ``/api/``, Django's page elsewhere."""
    if _wants_json(request):
        return _not_found_body()
    return page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: the JSON body with no internals under ``/api/``."""
    if _wants_json(request):
        return error_response("Internal server error.", "server_error", status=500)
    return html_server_error(request)


# Django's refusals of a request body (``SuspiciousOperation`` subclasses, raised while a
# view or a middleware reads it), as the API names them.
_BAD_REQUESTS: dict[type[Exception], tuple[int, str, str]] = {
    RequestDataTooBig: (413, "too_large", "The request body is too large."),
    TooManyFieldsSent: (400, "too_many_fields", "The request has too many fields."),
    TooManyFilesSent: (400, "too_many_files", "The request has too many files."),
}


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """``handler400``: under ``/api/`` the JSON body, with a body over
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` answered 413 as the contract says; Django's page
    elsewhere."""
    if not _wants_json(request):
        return html_bad_request(request, exception)
    for kind, (status, code, detail) in _BAD_REQUESTS.items():
        if isinstance(exception, kind):
            return error_response(detail, code, status=status)
    return error_response("Malformed request.", "bad_request", status=400)
