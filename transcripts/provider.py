"""The client of an OpenAI-compatible ``POST {base}/audio/transcriptions``.

OpenAI, Groq, speaches (faster-whisper-server), whisper.cpp's server and LocalAI all take
the same multipart request; their answers differ (no segments from OpenAI's
``gpt-4o-*-transcribe`` models, fields left out by whisper.cpp, ``x_groq`` from Groq), and
``parse_answer`` reduces each to timed segments.

Transient failures (timeouts, connection errors, 429 honouring ``Retry-After``, 5xx) are
retried with back-off; anything else fails at once. The API key goes only into the
``Authorization`` header: error messages are built here from status codes and redacted
provider text, never from an exception or a request that could carry the key.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from core import redaction

logger = logging.getLogger("studybuddy.lectures")

# Waits longer than this (a Retry-After of an hour) are not waited out inside a job.
_LONGEST_WAIT_SECONDS = 600.0
_ERROR_BODY_BYTES = 16 * 1024


class ProviderError(Exception):
    """A chunk could not be transcribed; ``str()`` is a short message for people."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient

    def __str__(self) -> str:
        return self.message


class Stopped(Exception):
    """The job stopped (another chunk failed, or the claim was lost) while this waited."""


@dataclass(frozen=True)
class ProviderSettings:
    base_url: str
    api_key: str
    model: str
    language: str = ""
    timeout: float = 300.0
    retries: int = 4
    backoff: float = 2.0
    backoff_cap: float = 60.0
    max_answer_bytes: int = 4 * 1024 * 1024

    @property
    def url(self) -> str:
        return f"{self.base_url.rstrip('/')}/audio/transcriptions"

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or "the provider"

    @property
    def segments_wanted(self) -> bool:
        """OpenAI's GPT-4o transcription models take ``json`` (no timestamps) only."""
        return not self.model.lower().startswith("gpt-4o")


class TranscriptionClient:
    """Sends chunks to the provider; one per job, shared by its sending threads."""

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        stop: threading.Event | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.stop = stop or threading.Event()
        timeout = httpx.Timeout(settings.timeout, connect=min(settings.timeout, 15.0))
        self._http = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TranscriptionClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def transcribe(self, path: Path, *, filename: str, content_type: str) -> dict[str, Any]:
        """The provider's JSON answer for the audio file at ``path``, after retries."""
        attempt = 0
        while True:
            if self.stop.is_set():
                raise Stopped
            try:
                return self._send(path, filename, content_type)
            except _Retry as retry:
                if self.stop.is_set():
                    raise Stopped from None  # the job ended meanwhile: no retry
                attempt += 1
                if attempt > self.settings.retries:
                    raise ProviderError(retry.final_message(attempt), transient=True) from None
                delay = retry.retry_after
                if delay is None:
                    delay = min(
                        self.settings.backoff_cap, self.settings.backoff * 2 ** (attempt - 1)
                    )
                if delay > _LONGEST_WAIT_SECONDS:
                    raise ProviderError(
                        f"the transcription provider asked to wait {delay:.0f} s (HTTP 429); "
                        "try again later",
                        transient=True,
                    ) from None
                logger.warning(
                    "transcription request to %s: %s; retry %d in %.1f s",
                    self.settings.host,
                    retry.reason,
                    attempt,
                    delay,
                )
                if self.stop.wait(delay):
                    raise Stopped from None

    def _send(self, path: Path, filename: str, content_type: str) -> dict[str, Any]:
        s = self.settings
        data: dict[str, str] = {"model": s.model, "temperature": "0"}
        if s.segments_wanted:
            data["response_format"] = "verbose_json"
            data["timestamp_granularities[]"] = "segment"
        else:
            data["response_format"] = "json"
        if s.language:
            data["language"] = s.language
        headers = {"Accept": "application/json"}
        if s.api_key:
            headers["Authorization"] = f"Bearer {s.api_key}"
        try:
            with (
                path.open("rb") as audio,
                self._http.stream(
                    "POST",
                    s.url,
                    data=data,
                    files={"file": (filename, audio, content_type)},
                    headers=headers,
                ) as response,
            ):
                if response.status_code != 200:
                    self._refused(response)
                body = _read_bounded(response, s.max_answer_bytes)
        except httpx.TimeoutException:
            raise _Retry(f"no answer within {s.timeout:.0f} s", kind="timeout") from None
        except (httpx.TransportError, httpx.StreamError):
            # Connection refused, reset or dropped mid-answer: worth another try.
            raise _Retry("connection failed", kind="connection") from None
        try:
            answer = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ProviderError(
                "the transcription provider's answer is not JSON (malformed answer)"
            ) from None
        if not isinstance(answer, dict):
            raise ProviderError("the transcription provider's answer is not a JSON object")
        return answer

    def _refused(self, response: httpx.Response) -> None:
        status = response.status_code
        if status == 429:
            raise _Retry("HTTP 429", kind="429", retry_after=_retry_after(response))
        if status >= 500 or status == 408:
            raise _Retry(f"HTTP {status}", kind=f"HTTP {status}")
        if status in (401, 403):
            raise ProviderError(
                f"the transcription provider refused the API key (HTTP {status}); "
                "check TRANSCRIPTION_API_KEY"
            )
        if 300 <= status < 400:
            raise ProviderError(
                f"the transcription provider answered a redirect (HTTP {status}); "
                "check TRANSCRIPTION_BASE_URL"
            )
        detail = self._error_detail(response)
        raise ProviderError(
            f"the transcription provider refused the request (HTTP {status}"
            + (f": {detail})" if detail else ")")
        )

    def _error_detail(self, response: httpx.Response) -> str:
        """The provider's own reason (OpenAI's ``{"error": {"message"}}``), redacted."""
        try:
            raw = _read_bounded(response, _ERROR_BODY_BYTES, truncate=True)
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError, httpx.HTTPError):
            return ""
        message = body.get("error") if isinstance(body, dict) else None
        if isinstance(message, dict):
            message = message.get("message")
        if not isinstance(message, str):
            message = body.get("detail") if isinstance(body, dict) else None
        if not isinstance(message, str):
            return ""
        return redact(message, self.settings.api_key)[:160]


class _Retry(Exception):
    def __init__(self, reason: str, *, kind: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        self.retry_after = retry_after

    def final_message(self, attempts: int) -> str:
        if self.kind == "timeout":
            return f"the transcription provider did not answer in time ({attempts} attempts)"
        if self.kind == "connection":
            return f"could not reach the transcription provider ({attempts} attempts)"
        if self.kind == "429":
            return f"the transcription provider kept answering HTTP 429 ({attempts} attempts)"
        return f"the transcription provider failed with {self.kind} ({attempts} attempts)"


def _read_bounded(response: httpx.Response, limit: int, *, truncate: bool = False) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if not truncate and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    parts: list[bytes] = []
    size = 0
    for part in response.iter_bytes():
        parts.append(part)
        size += len(part)
        if size > limit:
            if truncate:
                break
            raise _too_large(limit)
    return b"".join(parts)[:limit]


def _too_large(limit: int) -> ProviderError:
    return ProviderError(
        f"the transcription provider's answer is larger than {limit // (1024 * 1024)} MiB "
        "(malformed answer)"
    )


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def redact(text: str, secret: str) -> str:
    """``text`` without the secret or anything shaped like an API key, on one line."""
    text = redaction.redact(text, secret)
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


# --- Answers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """Speech from ``start`` to ``end`` seconds (of a chunk, or of the lecture)."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class ChunkAnswer:
    """A provider's answer reduced to what the transcript keeps."""

    segments: tuple[Segment, ...]
    timed: bool  # False: the provider gave text only (one segment spanning the chunk)
    language: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "timed": self.timed,
            "language": self.language,
            "segments": [[s.start, s.end, s.text] for s in self.segments],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChunkAnswer:
        return cls(
            segments=tuple(Segment(float(a), float(b), str(t)) for a, b, t in data["segments"]),
            timed=bool(data["timed"]),
            language=str(data.get("language", "")),
        )


def _seconds(value: object, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ProviderError(f"the transcription provider's answer has a bad {what}")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ProviderError(f"the transcription provider's answer has a bad {what}") from None
    if not math.isfinite(number):
        raise ProviderError(f"the transcription provider's answer has a bad {what}")
    return number


def _clean(text: str) -> str:
    return " ".join(text.split())


def parse_answer(answer: dict[str, Any], chunk_seconds: float) -> ChunkAnswer:
    """Timed segments (seconds of the chunk) from a provider's answer.

    ``verbose_json`` gives segments; an answer without them (``json``: ``{"text": …}``)
    gives one segment spanning the chunk. Fields a server leaves out (whisper.cpp) are
    inferred from the neighbours; unknown fields (Groq's ``x_groq``) are ignored; times
    are clamped to the chunk. Raises ``ProviderError`` for an answer that is no transcript.
    """
    text = answer.get("text", "")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise ProviderError("the transcription provider's answer has no text")
    language = answer.get("language")
    language = _clean(language)[:32] if isinstance(language, str) else ""
    raw_segments = answer.get("segments")
    if raw_segments == [] and _clean(text):
        raw_segments = None  # text the server did not time: not to be lost
    if raw_segments is None:
        if "text" not in answer:
            raise ProviderError("the transcription provider's answer has no text")
        cleaned = _clean(text)
        segments = (Segment(0.0, chunk_seconds, cleaned),) if cleaned else ()
        return ChunkAnswer(segments=segments, timed=False, language=language)
    if not isinstance(raw_segments, list):
        raise ProviderError("the transcription provider's answer has malformed segments")
    segments: list[Segment] = []
    previous_end = 0.0
    for raw in raw_segments:
        if not isinstance(raw, dict) or not isinstance(raw.get("text", ""), str):
            raise ProviderError("the transcription provider's answer has malformed segments")
        start = _seconds(raw.get("start"), "segment start")
        end = _seconds(raw.get("end"), "segment end")
        start = previous_end if start is None else start
        end = start if end is None else end
        start = min(max(0.0, start), chunk_seconds)
        end = min(max(start, end), chunk_seconds)
        previous_end = end
        cleaned = _clean(raw.get("text", ""))
        if cleaned:
            segments.append(Segment(round(start, 3), round(end, 3), cleaned))
    segments.sort(key=lambda s: (s.start, s.end))
    return ChunkAnswer(segments=tuple(segments), timed=True, language=language)


ChunkSender = Callable[[Path], dict[str, Any]]
