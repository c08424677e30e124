"""Liveness and readiness probes (no authentication)."""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_storage() -> None:
    key = default_storage.save(f".readyz/{uuid.uuid4().hex}", ContentFile(b"ok"))
    default_storage.delete(key)


def _check_broker() -> None:
    if settings.TASK_BROKER == "orm":
        _check_database()
        return
    import redis

    redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2).ping()


_CHECKS = {"database": _check_database, "storage": _check_storage, "broker": _check_broker}


@never_cache
@require_GET
def readyz(request) -> JsonResponse:
    """200 when the database, storage and task broker all answer; else 503 naming which fail."""
    results = {}
    for name, check in _CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # any failure means "not ready"; the log keeps the reason
            logger.warning("readiness check %s failed: %s", name, exc)
            results[name] = "failed"
    ready = all(value == "ok" for value in results.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": results},
        status=200 if ready else 503,
    )
