"""System checks of the authentication settings (see ``core.checks``)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security)
def dev_auth_check(app_configs, **kwargs) -> list[Error]:
    """Dev-auth tokens are signed with a key kept on the server's disk: never in production."""
    if settings.DEV_AUTH_ENABLED and not settings.DEBUG:
        return [Error("DEV_AUTH_ENABLED cannot be true when DEBUG is false", id="accounts.E001")]
    return []
