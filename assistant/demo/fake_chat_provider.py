"""A stand-in for an OpenAI-compatible chat provider on 127.0.0.1, for trying the assistant
without internet or an account. It is no model: it answers every question by quoting the
first lines of the first numbered source it was given, cited ``[1]``, a word every 50 ms,
as ``chat.completion.chunk`` Server-Sent Events with the usage and ``[DONE]``."""

from __future__ import annotations

import json
import re
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_PORT = 8766
WORD_SECONDS = 0.05
_FIRST_SOURCE = re.compile(r'<source number="1"[^>]*>\n(.*?)\n</source>', re.DOTALL)


def stand_in_answer(messages: list[dict]) -> list[str]:
    """The words of the answer: what source 1 says, cited."""
    found = _FIRST_SOURCE.search(messages[-1].get("content", "")) if messages else None
    if found is None:
        return ["Your", "sources", "do", "not", "cover", "this."]
    quoted = " ".join(found.group(1).split()[:40])
    return f"(A stand-in provider, not a model.) Source 1 says: {quoted} [1]".split(" ")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        if self.path.rstrip("/") != "/v1/chat/completions":
            self.send_error(404)
            return
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        words = stand_in_answer(request.get("messages") or [])
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        self.close_connection = True

        def send(event: dict) -> None:
            self.wfile.write(b"data: " + json.dumps(event).encode() + b"\n\n")
            self.wfile.flush()

        for number, word in enumerate(words):
            time.sleep(WORD_SECONDS)
            delta = {"content": word if number == 0 else f" {word}"}
            send({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta}]})
        prompt = sum(len(m.get("content", "")) for m in request.get("messages") or []) // 4
        usage = {"prompt_tokens": prompt, "completion_tokens": len(words)}
        usage["total_tokens"] = prompt + len(words)
        send({"object": "chat.completion.chunk", "choices": [], "usage": usage})
        self.wfile.write(b"data: [DONE]\n\n")


def serve(*, port: int) -> ThreadingHTTPServer:
    """The stand-in, listening on 127.0.0.1 (``serve_forever()`` to run it)."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
    server.daemon_threads = True
    return server
