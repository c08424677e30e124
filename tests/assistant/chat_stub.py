"""A chat provider on 127.0.0.1 that speaks OpenAI's ``POST /v1/chat/completions`` with
``stream: true``: ``chat.completion.chunk`` Server-Sent Events, one per token, a token every
``token_delay`` seconds after ``first_delay``, the usage in a last chunk when the request
asks for it (``stream_options.include_usage``), then ``data: [DONE]``.

It records every request's JSON body (``received``) and misbehaves on demand: the
transcription stub's ``Fault``s before the answer (a status with ``Retry-After``, a stall,
a dropped connection), and ``mid_stream`` faults once the answer has begun (``drop`` the
connection, end without ``[DONE]``, send a ``malformed`` chunk).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from typing import Any

from tests.transcripts.provider_stub import API_KEY, Fault, ProviderStub, _Handler

__all__ = ["API_KEY", "ChatStub", "Fault"]

DROP = "drop"
NO_DONE = "no_done"
MALFORMED = "malformed"


class _ChatHandler(_Handler):
    def _post(self, stub: ChatStub) -> None:  # type: ignore[override]
        if self.path != "/v1/chat/completions":
            self._error(404, "not found")
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            request = json.loads(body)
        except ValueError:
            self._error(400, "We could not parse the JSON body of your request.")
            return
        with stub.lock:
            stub.received.append(request)
            stub.authorizations.append(self.headers.get("Authorization"))
        fault = stub.next_fault()
        if fault is not None and self._misbehave(fault):
            return
        if stub.api_key and self.headers.get("Authorization") != f"Bearer {stub.api_key}":
            self._error(401, "Incorrect API key provided.")
            return
        if not request.get("stream") or not request.get("messages"):
            self._error(400, "'messages' and 'stream' are required")
            return
        tokens = stub.answer(request)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.close_connection = True  # no Content-Length: the body ends with the connection
        mid_stream = stub.mid_stream
        stub.mid_stream = None
        time.sleep(stub.first_delay)
        self._chunk({"role": "assistant", "content": ""})
        for number, token in enumerate(tokens):
            if number and stub.token_delay:
                time.sleep(stub.token_delay)
            if mid_stream and number == stub.fault_after:
                if mid_stream == DROP:
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if mid_stream == MALFORMED:
                    self._send(b'data: {"choices": [{"delta": \n\n')
                    return
                if mid_stream == NO_DONE:
                    return
            self._chunk({"content": token})
        self._chunk({}, finish_reason=stub.finish_reason)
        if (request.get("stream_options") or {}).get("include_usage") and stub.usage:
            completion = len(tokens)
            prompt = sum(len(m["content"]) // 4 for m in request["messages"])
            self._send_event(
                {
                    "id": "chatcmpl-stub",
                    "object": "chat.completion.chunk",
                    "choices": [],
                    "usage": {
                        "prompt_tokens": prompt,
                        "completion_tokens": completion,
                        "total_tokens": prompt + completion,
                    },
                }
            )
        self._send(b"data: [DONE]\n\n")

    def _chunk(self, delta: dict, finish_reason: str | None = None) -> None:
        self._send_event(
            {
                "id": "chatcmpl-stub",
                "object": "chat.completion.chunk",
                "model": "stub",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            }
        )

    def _send_event(self, event: dict) -> None:
        self._send(b"data: " + json.dumps(event).encode() + b"\n\n")

    def _send(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()


class ChatStub(ProviderStub):
    """``answer(request)`` gives the tokens (by default ``tokens``); ``received`` holds each
    request's JSON body, ``authorizations`` its ``Authorization`` header."""

    handler = _ChatHandler

    def __init__(self, *, api_key: str | None = API_KEY) -> None:
        super().__init__(api_key=api_key, decode=False)
        self.received: list[dict[str, Any]] = []  # type: ignore[assignment]
        self.authorizations: list[str | None] = []
        self.tokens = ["Cells ", "make ", "energy ", "in ", "mitochondria ", "[1]", "."]
        self.answer: Callable[[dict[str, Any]], list[str]] = lambda request: self.tokens  # type: ignore[assignment]
        self.first_delay = 0.0
        self.token_delay = 0.0
        self.usage = True
        self.finish_reason = "stop"
        self.mid_stream: str | None = None
        self.fault_after = 2  # tokens sent before a mid-stream fault

    def prompts(self) -> str:
        """Every message of every request received, as one text."""
        return "\n".join(json.dumps(request) for request in self.received)
