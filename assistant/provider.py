"""The client of an OpenAI-compatible ``POST {base}/chat/completions`` with ``stream: true``.

OpenAI, OpenRouter, Groq, vLLM, Ollama and LiteLLM answer ``chat.completion.chunk`` objects
as Server-Sent Events, ending with ``data: [DONE]``; with ``stream_options.include_usage``
the last chunk carries the usage (servers that do not know the option ignore it, and the
usage is then estimated). Retries before the first token, refusals, bounds and the key kept
out of every message are ``core.providers``'.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings

from core.providers import Endpoint, ProviderClient, ProviderError, sse_data

logger = logging.getLogger("studybuddy.assistant")


@dataclass(frozen=True)
class ChatSettings(Endpoint):
    model: str = ""
    max_answer_tokens: int = 1024
    total_seconds: float = 120.0
    max_line_bytes: int = 64 * 1024


def chat_settings() -> ChatSettings:
    return ChatSettings(
        base_url=settings.ASSISTANT_BASE_URL,
        api_key=settings.ASSISTANT_API_KEY,
        model=settings.ASSISTANT_MODEL,
        # The client's timeout is the wait for the answer to start, and between two chunks.
        timeout=float(settings.ASSISTANT_FIRST_TOKEN_SECONDS),
        retries=settings.ASSISTANT_TRIES - 1,
        backoff=settings.ASSISTANT_RETRY_BACKOFF_SECONDS,
        backoff_cap=settings.ASSISTANT_RETRY_BACKOFF_CAP_SECONDS,
        max_answer_bytes=settings.ASSISTANT_MAX_ANSWER_BYTES,
        max_answer_tokens=settings.ASSISTANT_MAX_ANSWER_TOKENS,
        total_seconds=float(settings.ASSISTANT_TIMEOUT_SECONDS),
        max_line_bytes=settings.ASSISTANT_MAX_LINE_BYTES,
    )


@dataclass(frozen=True)
class Piece:
    """One step of an answer: a token of text, the usage, or the reason it ended."""

    text: str = ""
    usage: dict[str, int] | None = None
    finish_reason: str | None = None


class ChatClient(ProviderClient):
    label = "the assistant provider"
    setting = "ASSISTANT"
    metrics_name = "chat"

    def __init__(self, chat: ChatSettings | None = None) -> None:
        chat = chat or chat_settings()
        super().__init__(chat, logger=logger)
        self.chat = chat

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "Accept": "text/event-stream"}

    def answer(self, messages: list[dict[str, str]]) -> Iterator[Piece]:
        """The answer's pieces as the provider writes them (``core.providers.StreamCut``
        when it reaches its size or time limit, ``ProviderError`` when it fails)."""
        c = self.chat
        deadline = time.monotonic() + c.total_seconds
        body = {
            "model": c.model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": c.max_answer_tokens,
        }
        url = c.url_of("chat/completions")
        with self.streaming(
            "chat",
            lambda http: http.stream("POST", url, json=body, headers=self.headers()),
            deadline=deadline,
        ) as response:
            for payload in sse_data(
                response,
                label=self.label,
                deadline=deadline,
                max_line_bytes=c.max_line_bytes,
                max_total_bytes=c.max_answer_bytes,
            ):
                yield _piece(payload, self.label)


def _piece(payload: str, label: str) -> Piece:
    try:
        chunk = json.loads(payload)
    except ValueError:
        raise ProviderError(f"{label} sent a malformed chunk") from None
    if not isinstance(chunk, dict):
        raise ProviderError(f"{label} sent a malformed chunk")
    if isinstance(chunk.get("error"), dict):
        raise ProviderError(f"{label} failed mid-answer")
    usage = chunk.get("usage")
    usage = _usage(usage) if isinstance(usage, dict) else None
    choices = chunk.get("choices")
    if not isinstance(choices, list):
        raise ProviderError(f"{label} sent a malformed chunk")
    text, finish = "", None
    if choices:
        choice = choices[0]
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if not isinstance(delta, dict):
            raise ProviderError(f"{label} sent a malformed chunk")
        content = delta.get("content")
        text = content if isinstance(content, str) else ""
        reason = choice.get("finish_reason")
        finish = reason if isinstance(reason, str) else None
    return Piece(text=text, usage=usage, finish_reason=finish)


def _usage(usage: dict) -> dict[str, int] | None:
    values = {k: usage.get(k) for k in ("prompt_tokens", "completion_tokens", "total_tokens")}
    if not all(isinstance(v, int) and 0 <= v < 2**31 for v in values.values()):
        return None
    return values  # type: ignore[return-value]
