"""System checks of the transcription settings (see ``core.checks``)."""

from __future__ import annotations

from django.core.checks import Error, register

from core.checks import provider_key_errors


@register()
def transcription_key_check(app_configs, **kwargs) -> list[Error]:
    """A provider on another machine needs a key; one on loopback may not."""
    return provider_key_errors("TRANSCRIPTION", "transcripts.E001")
