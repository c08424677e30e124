"""The AI SDK's UI message stream protocol (v1) over Server-Sent Events: the answer's
events, and their encoding as ``data: {json}`` lines ending with ``data: [DONE]``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator

HEADERS = {
    "Cache-Control": "no-cache",
    "x-vercel-ai-ui-message-stream": "v1",
    # nginx passes the events on as they come instead of buffering the answer.
    "X-Accel-Buffering": "no",
}
CONTENT_TYPE = "text/event-stream"


def start(message_id: uuid.UUID) -> dict:
    return {"type": "start", "messageId": str(message_id)}


def source(data: dict) -> dict:
    return {"type": "data-source", "id": str(data["number"]), "data": data}


def text_start(message_id: uuid.UUID) -> dict:
    return {"type": "text-start", "id": f"text-{message_id}"}


def text_delta(message_id: uuid.UUID, delta: str) -> dict:
    return {"type": "text-delta", "id": f"text-{message_id}", "delta": delta}


def text_end(message_id: uuid.UUID) -> dict:
    return {"type": "text-end", "id": f"text-{message_id}"}


def error(text: str) -> dict:
    return {"type": "error", "errorText": text}


def finish() -> dict:
    return {"type": "finish"}


def encoded(events: Iterable[dict]) -> Iterator[bytes]:
    """Each event as one ``data:`` line, then ``[DONE]``; the generator's ``close()`` (the
    client went away) reaches ``events``."""
    iterator = iter(events)
    try:
        for event in iterator:
            yield f"data: {json.dumps(event, separators=(',', ':'))}\n\n".encode()
        yield b"data: [DONE]\n\n"
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
