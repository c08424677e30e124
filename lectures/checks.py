"""System checks of the lecture settings (see ``core.checks``); the warning is for
``manage.py check --deploy`` only."""

from __future__ import annotations

import importlib.util

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register()
def download_timeout_check(app_configs, **kwargs) -> list[Error]:
    if settings.LECTURE_DOWNLOAD_TIMEOUT_SECONDS >= settings.Q_TIMEOUT_SECONDS:
        return [
            Error(
                "LECTURE_DOWNLOAD_TIMEOUT_SECONDS must be less than Q_TIMEOUT_SECONDS, so a slow "
                "download fails the lecture instead of having its worker killed",
                id="lectures.E001",
            )
        ]
    return []


@register()
def downloader_check(app_configs, **kwargs) -> list[Error]:
    if settings.LECTURE_DOWNLOADER == "panoptodownloader" and not importlib.util.find_spec(
        "PanoptoDownloader"
    ):
        return [
            Error(
                "LECTURE_DOWNLOADER=panoptodownloader but the PanoptoDownloader package is not "
                "installed (see docs/architecture.md, 'PanoptoDownloader')",
                id="lectures.E002",
            )
        ]
    return []


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
