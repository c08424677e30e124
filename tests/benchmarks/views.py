"""Baselines: the least a Django view can do, behind the same middleware as the API."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

_CHUNK = 64 * 1024


def bare_json(request: HttpRequest) -> JsonResponse:
    """A constant JSON answer: no authentication, no database, no DRF."""
    return JsonResponse({"status": "ok"})


@csrf_exempt
def discard_body(request: HttpRequest) -> JsonResponse:
    """Reads the request body off the wire and throws it away."""
    received = 0
    while chunk := request.read(_CHUNK):
        received += len(chunk)
    return JsonResponse({"received": received})
