"""System checks of the lecture settings (``manage.py check --deploy``)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def private_networks_check(app_configs, **kwargs) -> list[Warning]:
    """A deployment that lets workers fetch private addresses is one redirect away from its
    own internal services (link-local addresses stay refused whatever the flag)."""
    if not settings.PANOPTO_ALLOW_PRIVATE_NETWORKS:
        return []
    return [
        Warning(
            "PANOPTO_ALLOW_PRIVATE_NETWORKS is true: lecture downloads may reach loopback and "
            "private addresses, that is this network's own services.",
            hint="Leave it false outside local development and tests.",
            id="lectures.W001",
        )
    ]
