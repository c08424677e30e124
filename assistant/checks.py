"""System checks of the assistant's settings (see ``core.checks``)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, register


@register()
def assistant_key_check(app_configs, **kwargs) -> list[Error]:
    """A provider on another machine needs a key; one on loopback (a local server) may not."""
    if settings.ASSISTANT_BACKEND != "openai" or settings.ASSISTANT_API_KEY:
        return []
    if urlsplit(settings.ASSISTANT_BASE_URL).hostname in ("localhost", "127.0.0.1", "::1"):
        return []
    return [
        Error(
            "ASSISTANT_BACKEND=openai needs ASSISTANT_API_KEY (only a server on loopback may "
            "go without one)",
            id="assistant.E001",
        )
    ]
