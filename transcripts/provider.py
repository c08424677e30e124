"""The client of an OpenAI-compatible ``POST {base}/audio/transcriptions``.

OpenAI, Groq, speaches (faster-whisper-server), whisper.cpp's server and LocalAI all take
the same multipart request; their answers differ (no segments from OpenAI's
``gpt-4o-*-transcribe`` models, fields left out by whisper.cpp, ``x_groq`` from Groq), and
``parse_answer`` reduces each to timed segments. Retries, refusals, the bounded answer and
the key kept out of every message are ``core.providers``'.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from core.providers import Endpoint, ProviderClient, ProviderError, Stopped, redact

__all__ = [
    "ChunkAnswer",
    "ProviderError",
    "ProviderSettings",
    "Segment",
    "Stopped",
    "TranscriptionClient",
    "parse_answer",
    "redact",
]

logger = logging.getLogger("studybuddy.lectures")


@dataclass(frozen=True)
class ProviderSettings(Endpoint):
    model: str = ""
    language: str = ""
    timeout: float = 300.0

    @property
    def url(self) -> str:
        return self.url_of("audio/transcriptions")

    @property
    def segments_wanted(self) -> bool:
        """OpenAI's GPT-4o transcription models take ``json`` (no timestamps) only."""
        return not self.model.lower().startswith("gpt-4o")


class TranscriptionClient(ProviderClient):
    """Sends chunks to the provider; one per job, shared by its sending threads."""

    label = "the transcription provider"
    setting = "TRANSCRIPTION"
    metrics_name = "transcription"

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        stop: threading.Event | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(settings, stop=stop, transport=transport, logger=logger)
        self.settings = settings

    def transcribe(self, path: Path, *, filename: str, content_type: str) -> dict[str, Any]:
        """The provider's JSON answer for the audio file at ``path``, after retries."""
        s = self.settings
        data: dict[str, str] = {"model": s.model, "temperature": "0"}
        if s.segments_wanted:
            data["response_format"] = "verbose_json"
            data["timestamp_granularities[]"] = "segment"
        else:
            data["response_format"] = "json"
        if s.language:
            data["language"] = s.language

        @contextmanager
        def send(http: httpx.Client) -> Iterator[httpx.Response]:
            with (
                path.open("rb") as audio,
                http.stream(
                    "POST",
                    s.url,
                    data=data,
                    files={"file": (filename, audio, content_type)},
                    headers=self.headers(),
                ) as response,
            ):
                yield response

        return self.request("transcription", send)


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
