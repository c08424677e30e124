"""One structured log line per lecture state change: ``lecture=… from=… to=… key=value``."""

from __future__ import annotations

import json
import logging
import uuid

logger = logging.getLogger("studybuddy.lectures")


def _value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    text = str(value)
    return json.dumps(text) if (not text or any(c.isspace() or c in '"=' for c in text)) else text


def log_transition(
    lecture_id: uuid.UUID | str, old: str | None, new: str, **fields: object
) -> None:
    """Log ``old → new`` for a lecture, with whatever else tells the story (seconds, bytes,
    attempt, error); ``None`` fields are left out."""
    details = "".join(
        f" {key}={_value(value)}" for key, value in fields.items() if value is not None
    )
    logger.info("lecture=%s from=%s to=%s%s", lecture_id, old or "-", new, details)
