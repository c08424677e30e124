"""A transcription provider on 127.0.0.1 that speaks OpenAI's
``POST /v1/audio/transcriptions`` and misbehaves on demand.

It parses the multipart body (``file``, ``model``, ``response_format``,
``timestamp_granularities[]``, ``temperature``, ``language``), checks the bearer key and
the upload size (413 over ``max_upload_bytes``), decodes the audio it is sent
(``tests.transcripts.speech``) and answers ``verbose_json`` with one segment per sentence
heard, or ``json`` (``{"text": …}``) without segments. ``faults`` are consumed one per
request before any normal answer: a status (with headers), a stall past the client's
timeout, a dropped connection, a body that is not JSON, a 50 MB answer.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.transcripts.speech import decode_pcm, heard_seconds, sentences

API_KEY = "sk-test-0123456789abcdefSECRET"


@dataclass
class Fault:
    """What the stub does instead of answering; ``status=0`` with ``drop`` closes the
    connection, ``stall`` waits that long first."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    stall: float = 0.0
    drop: bool = False
    huge: int = 0  # stream this many bytes of a JSON-looking answer


@dataclass
class Received:
    fields: dict[str, list[str]]
    filename: str
    content_type: str
    size: int
    authorization: str | None
    heard: list[tuple[int, int]] = field(default_factory=list)


class ProviderStub:
    handler: type[BaseHTTPRequestHandler]  # set below the handler's class

    def __init__(
        self,
        *,
        api_key: str | None = API_KEY,
        max_upload_bytes: int = 25_000_000,
        decode: bool = True,
    ):
        self.api_key = api_key
        self.decode = decode  # off: answer without decoding (the benchmark's stub)
        self.max_upload_bytes = max_upload_bytes
        self.faults: list[Fault] = []
        self.delay = 0.0  # every normal answer waits this long (the benchmark's D)
        # Called before each normal answer, the request counted in flight: a test's gate.
        self.hold: Callable[[], None] | None = None
        self.answer: Callable[[Received], dict[str, Any]] | None = None
        self.received: list[Received] = []
        self.requests = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.lock = threading.Lock()
        self._server = _Server(self)
        # Polled every 50 ms for the stop (serve_forever's default, 0.5 s, is what each
        # test's teardown would wait).
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> ProviderStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def next_fault(self) -> Fault | None:
        with self.lock:
            return self.faults.pop(0) if self.faults else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, stub: ProviderStub) -> None:
        super().__init__(("127.0.0.1", 0), stub.handler)
        self.stub = stub

    def handle_error(self, request, client_address) -> None:
        """Quiet about clients that hang up (the tests make them); loud about the rest."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, list[str]], dict]:
    """Fields and the file part ``{"filename", "content_type", "data"}`` of a body."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not content_type.startswith("multipart/form-data") or not match:
        raise ValueError("not multipart/form-data")
    boundary = b"--" + match.group(1).encode()
    fields: dict[str, list[str]] = {}
    file: dict = {}
    for part in body.split(boundary)[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        headers = head.decode()
        name = re.search(r'name="([^"]*)"', headers)
        if not name:
            raise ValueError("a part without a name")
        filename = re.search(r'filename="([^"]*)"', headers)
        if filename:
            kind = re.search(r"Content-Type:\s*([^\r\n]+)", headers, re.IGNORECASE)
            file = {
                "name": name.group(1),
                "filename": filename.group(1),
                "content_type": kind.group(1).strip() if kind else "",
                "data": content,
            }
        else:
            fields.setdefault(name.group(1), []).append(content.decode())
    return fields, file


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def _json(self, status: int, body: object, **headers: str) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, **headers: str) -> None:
        self._json(
            status, {"error": {"message": message, "type": "invalid_request_error"}}, **headers
        )

    def do_POST(self) -> None:
        stub = self.server.stub
        with stub.lock:
            stub.requests += 1
            stub.in_flight += 1
            stub.most_in_flight = max(stub.most_in_flight, stub.in_flight)
        try:
            self._post(stub)
        except OSError:
            pass  # the client gave up (a timeout, or a job that stopped) mid-answer
        finally:
            with stub.lock:
                stub.in_flight -= 1

    def _post(self, stub: ProviderStub) -> None:
        if self.path != "/v1/audio/transcriptions":
            self._error(404, "not found")
            return
        length = int(self.headers.get("Content-Length", "0"))
        if length > stub.max_upload_bytes:
            self.close_connection = True
            self._error(413, "Maximum content size limit exceeded")
            return
        body = self.rfile.read(length)
        authorization = self.headers.get("Authorization")
        fault = stub.next_fault()
        if fault is not None and self._misbehave(fault):
            return
        if stub.api_key and authorization != f"Bearer {stub.api_key}":
            self._error(401, f"Incorrect API key provided: {(authorization or '')[7:]}.")
            return
        try:
            fields, file = parse_multipart(self.headers.get("Content-Type", ""), body)
        except ValueError as error:
            self._error(400, str(error))
            return
        if not file or file["name"] != "file" or "model" not in fields:
            self._error(400, "file and model are required")
            return
        received = Received(
            fields=fields,
            filename=file["filename"],
            content_type=file["content_type"],
            size=len(file["data"]),
            authorization=authorization,
        )
        if stub.decode:
            received.heard = heard_seconds(decode_pcm(file["data"]))
        with stub.lock:
            stub.received.append(received)
        if stub.delay:
            time.sleep(stub.delay)
        if stub.hold is not None:
            stub.hold()
        if stub.answer is not None:
            self._json(200, stub.answer(received))
            return
        segments = sentences(received.heard)
        text = "".join(s["text"] for s in segments).strip()
        if fields.get("response_format") == ["verbose_json"]:
            self._json(
                200,
                {
                    "task": "transcribe",
                    "language": "english",
                    "duration": received.heard[-1][0] + 1 if received.heard else 0,
                    "text": text,
                    "segments": [
                        {**s, "avg_logprob": -0.2, "no_speech_prob": 0.01} for s in segments
                    ],
                    "x_groq": {"id": "req_stub"},
                },
            )
        else:
            self._json(200, {"text": text})

    def _misbehave(self, fault: Fault) -> bool:
        """Act out ``fault``; ``False`` when it only delays the normal answer."""
        if fault.stall:
            time.sleep(fault.stall)
        if fault.drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return True
        if fault.huge:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(fault.huge))
            self.end_headers()
            piece = b'{"text": "' + b"a" * (1024 * 1024)
            sent = 0
            try:
                while sent < fault.huge:
                    chunk = piece[: fault.huge - sent]
                    self.wfile.write(chunk)
                    sent += len(chunk)
            except OSError:
                pass  # the client stopped reading, as it should
            self.close_connection = True
            return True
        if fault.status != 200 or fault.body:
            self.send_response(fault.status)
            body = fault.body or json.dumps({"error": {"message": "stub fault"}}).encode()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in fault.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
            return True
        return False


ProviderStub.handler = _Handler
