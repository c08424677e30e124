"""System checks of the settings every app shares: the ones that must agree with another.

A malformed value stops the settings import (``studybuddy.env``); two values that contradict
each other are reported here, with an id, by ``manage.py check`` (and ``--deploy``) and at
the start of every process (``studybuddy.startup.check_or_exit``), which refuses to start.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured


@register()
def secret_key_check(app_configs, **kwargs) -> list[Error]:
    """Without DEBUG there is no generated development key: the deployment must set one."""
    if settings.DEBUG:
        return []
    try:
        settings.SECRET_KEY  # noqa: B018 - Django refuses to read an empty key
    except ImproperlyConfigured:
        return [Error("SECRET_KEY must be set when DEBUG is false", id="core.E001")]
    return []


@register()
def storage_check(app_configs, **kwargs) -> list[Error]:
    if settings.STORAGE_BACKEND == "s3" and not settings.AWS_STORAGE_BUCKET_NAME:
        return [Error("STORAGE_BACKEND=s3 needs AWS_STORAGE_BUCKET_NAME", id="core.E002")]
    return []


@register()
def task_queue_check(app_configs, **kwargs) -> list[Error]:
    """The broker hands a task to another worker once ``retry`` seconds have passed without
    an acknowledgement: a retry no longer than the timeout would run a job twice at once."""
    if settings.Q_RETRY_SECONDS <= settings.Q_TIMEOUT_SECONDS:
        return [Error("Q_RETRY_SECONDS must be greater than Q_TIMEOUT_SECONDS", id="core.E003")]
    return []


def provider_key_errors(prefix: str, check_id: str) -> list[Error]:
    """``{prefix}_BACKEND=openai`` needs ``{prefix}_API_KEY``: a provider on another machine
    needs a key; one on loopback (a local server) may not. For each provider's check."""
    if getattr(settings, f"{prefix}_BACKEND") != "openai" or getattr(settings, f"{prefix}_API_KEY"):
        return []
    base_url = getattr(settings, f"{prefix}_BASE_URL")
    if urlsplit(base_url).hostname in ("localhost", "127.0.0.1", "::1"):
        return []
    return [
        Error(
            f"{prefix}_BACKEND=openai needs {prefix}_API_KEY (only a server on loopback may "
            "go without one)",
            id=check_id,
        )
    ]
