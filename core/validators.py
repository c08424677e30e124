"""Input checks shared by the apps."""

from __future__ import annotations

import unicodedata
import uuid

from rest_framework import serializers

from core.exceptions import ObjectNotFound

# Bidirectional embedding, override and isolate controls: they make text display as
# something other than what it is.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def is_control_character(char: str) -> bool:
    return unicodedata.category(char) == "Cc" or char in BIDI_CONTROLS


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
        raise ObjectNotFound()
    return parsed
