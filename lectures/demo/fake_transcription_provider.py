"""A stand-in for an OpenAI-compatible transcription provider, for trying the service on
one machine without internet or an account. It recognises no speech.

It speaks the protocol the service's provider client speaks: ``POST
{base}/audio/transcriptions`` with the base ``http://127.0.0.1:<port>/v1``, multipart
``file`` and ``model``, ``response_format`` of ``json``, ``verbose_json`` or ``text``. It
answers every audio file with the same honest text, saying it is a stand-in, in one segment
per ``SEGMENT_SECONDS`` of the audio it received (its real duration, measured as the audio
job measures it). Any API key, or none, is accepted. ``manage.py
fake_transcription_provider`` runs it; ``make demo`` starts one for its own run. The service
uses it only when told to: ``TRANSCRIPTION_BACKEND=openai
TRANSCRIPTION_BASE_URL=http://127.0.0.1:<port>/v1``.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import tempfile
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from lectures.audio import audio_duration

DEFAULT_PORT = 8300
SEGMENT_SECONDS = 10.0
# OpenAI refuses uploads over 25 MB; a stand-in that took more would hide a misconfiguration.
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
PATH = "/v1/audio/transcriptions"
FORMATS = ("json", "verbose_json", "text")


def segment_text(index: int, count: int, duration: float) -> str:
    """What the stand-in "heard" in one segment: a sentence that says what it is."""
    return (
        "Stand-in text from the fake transcription provider; no speech recognition ran. "
        f"Part {index + 1} of {count} of the {duration:.1f} seconds of audio it received."
    )


def fake_transcript(duration: float) -> list[dict[str, Any]]:
    """Segments of about ``SEGMENT_SECONDS`` over ``duration``, the last one ending with
    it, each with the fields of OpenAI's ``verbose_json`` segments."""
    # Rounded, not ceiled: 30.02 s of audio is three segments, not a fourth of 0.02 s.
    count = max(1, round(duration / SEGMENT_SECONDS))
    segments = []
    for index in range(count):
        start = index * SEGMENT_SECONDS
        end = duration if index == count - 1 else start + SEGMENT_SECONDS
        segments.append(
            {
                "id": index,
                "seek": 0,
                "start": round(start, 3),
                "end": round(end, 3),
                "text": " " + segment_text(index, count, duration),
                "tokens": [],
                "temperature": 0.0,
                "avg_logprob": 0.0,
                "compression_ratio": 1.0,
                "no_speech_prob": 0.0,
            }
        )
    return segments


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_form(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, Any]]:
    """The fields and the ``file`` part (``{"filename", "data"}``) of a multipart body."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise BadRequest(400, "The request must be multipart/form-data.")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise BadRequest(400, "The multipart body could not be read.")
    fields: dict[str, str] = {}
    file: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        if name == "file" and part.get_filename() is not None:
            file = {"filename": part.get_filename(), "data": data}
        elif name:
            fields[name] = data.decode("utf-8", "replace")
    return fields, file


def audio_seconds(data: bytes) -> float:
    """The duration of the audio in ``data``, or ``BadRequest`` if it is not audio."""
    with tempfile.NamedTemporaryFile(prefix="fake-provider-") as audio:
        audio.write(data)
        audio.flush()
        try:
            return audio_duration(audio.name)
        except Exception:
            raise BadRequest(400, "Invalid file format: the file is not audio.") from None


def answer(fields: dict[str, str], file: dict[str, Any]) -> tuple[str, bytes, int]:
    """``(content type, body, segment count)`` of the answer to one transcription request."""
    if not file:
        raise BadRequest(400, "The file part is missing.")
    if not fields.get("model"):
        raise BadRequest(400, "The model field is missing.")
    response_format = fields.get("response_format", "json")
    if response_format not in FORMATS:
        raise BadRequest(400, f"response_format must be one of {', '.join(FORMATS)}.")
    duration = audio_seconds(file["data"])
    segments = fake_transcript(duration)
    text = " ".join(segment["text"].strip() for segment in segments)
    if response_format == "text":
        return "text/plain; charset=utf-8", text.encode(), len(segments)
    body: dict[str, Any] = {"text": text}
    if response_format == "verbose_json":
        body = {
            "task": "transcribe",
            "language": fields.get("language") or "english",
            "duration": round(duration, 3),
            "text": text,
            "segments": segments,
        }
    return "application/json", json.dumps(body).encode(), len(segments)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # the client keeps its connection between chunks

    def log_message(self, format: str, *args: object) -> None:
        """Each request is reported once, by ``_report``."""

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str) -> None:
        # OpenAI's error shape: the service's client shows ``error.message``.
        body = {"error": {"message": message, "type": "invalid_request_error"}}
        self._send(status, "application/json", json.dumps(body).encode())

    def _report(self, line: str) -> None:
        if self.server.log is not None:
            self.server.log(f"{self.command} {self.path}: {line}")

    def _not_found(self) -> None:
        # Names the one URL served, so a TRANSCRIPTION_BASE_URL without /v1 is plain to see.
        host, port = self.server.server_address[:2]
        self._report("404")
        self._error(404, f"Not found: this stand-in serves POST http://{host}:{port}{PATH} only.")

    def do_GET(self) -> None:
        self._not_found()

    def do_POST(self) -> None:
        if urlsplit(self.path).path != PATH:
            self._not_found()
            return
        length = self.headers.get("Content-Length", "")
        if not length.isdigit():
            self.close_connection = True
            self._report("411, no Content-Length")
            self._error(411, "Content-Length is required.")
            return
        if int(length) > MAX_UPLOAD_BYTES:
            self.close_connection = True
            self._report(f"413, {length} bytes")
            self._error(413, "Maximum content size limit (26214400) exceeded.")
            return
        body = self.rfile.read(int(length))
        try:
            fields, file = parse_form(self.headers.get("Content-Type", ""), body)
            content_type, answer_body, segments = answer(fields, file)
        except BadRequest as error:
            self._report(f"{error.status}, {error.message}")
            self._error(error.status, error.message)
            return
        with self.server.lock:
            self.server.answered += 1
        self._report(
            f"200, {file['filename']} ({len(file['data'])} bytes) -> {segments} segment(s) "
            f"as {fields.get('response_format', 'json')}"
        )
        self._send(200, content_type, answer_body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, log: Callable[[str], None] | None) -> None:
        super().__init__((host, port), _Handler)
        self.log = log
        self.lock = threading.Lock()
        self.answered = 0


class FakeTranscriptionProvider:
    """The stand-in on ``host:port`` (``port`` 0: a free one); ``base_url`` is what
    ``TRANSCRIPTION_BASE_URL`` names. ``log`` receives one line per request."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self._server = _Server(host, port, log)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def answered(self) -> int:
        """Transcription requests answered with a transcript so far."""
        with self._server.lock:
            return self._server.answered

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def start(self) -> FakeTranscriptionProvider:
        """Serve from a thread until ``stop``."""
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
        self._server.server_close()
