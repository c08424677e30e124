"""System checks of the document settings (see ``core.checks``)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register


@register()
def text_timeout_check(app_configs, **kwargs) -> list[Error]:
    if settings.DOCUMENT_TEXT_TIMEOUT_SECONDS >= settings.Q_TIMEOUT_SECONDS:
        return [
            Error(
                "DOCUMENT_TEXT_TIMEOUT_SECONDS must be less than Q_TIMEOUT_SECONDS, so a slow "
                "PDF fails its document instead of having its worker killed",
                id="documents.E001",
            )
        ]
    return []
