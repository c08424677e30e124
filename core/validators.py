"""Input checks shared by the apps."""

from __future__ import annotations

import uuid

from rest_framework import serializers

from core.exceptions import NotFound
from core.text import BIDI_CONTROLS, is_control_character

__all__ = ["BIDI_CONTROLS", "is_control_character", "no_control_characters"]


def no_control_characters(value: str) -> None:
    """Refuse control characters (NUL, newlines) and bidi overrides in short text."""
    if any(is_control_character(char) for char in value):
        raise serializers.ValidationError("Control characters are not allowed.")


def parse_uuid(value: object) -> uuid.UUID | None:
    """The UUID in ``value``, or ``None`` when it is not one (callers answer 404)."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def uuid_or_404(value: object) -> uuid.UUID:
    """The UUID in a path segment; a malformed one is a 404, like an unknown one."""
    parsed = parse_uuid(value)
    if parsed is None:
        raise NotFound()
    return parsed
