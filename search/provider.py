"""The client of an OpenAI-compatible ``POST {base}/embeddings``.

OpenAI, Ollama, vLLM, Hugging Face TEI, LiteLLM and LocalAI take ``{"model", "input": [...]}``
and answer ``{"data": [{"index", "embedding": [...]}, ...]}``. ``dimensions`` is sent only to
the models that take it (OpenAI's ``text-embedding-3-*``); every answer is checked to have
one vector of the configured size per input, in any order of ``index``. Retries, refusals,
the bounded answer and the key kept out of every message are ``core.providers``'.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from django.conf import settings

from core import metrics
from core.providers import Endpoint, ProviderClient, ProviderError

logger = logging.getLogger("studybuddy.search")


@dataclass(frozen=True)
class EmbeddingsSettings(Endpoint):
    model: str = ""
    dimensions: int = 0
    timeout: float = 60.0

    @property
    def url(self) -> str:
        return self.url_of("embeddings")

    @property
    def sends_dimensions(self) -> bool:
        """Only OpenAI's third-generation models take ``dimensions``; other servers refuse
        the field or ignore it."""
        return self.model.startswith("text-embedding-3")

    @property
    def space(self) -> str:
        """The model and size: vectors of one space are never compared with another's."""
        return f"{self.model}/{self.dimensions}"[:120]


def embeddings_settings() -> EmbeddingsSettings:
    return EmbeddingsSettings(
        base_url=settings.EMBEDDINGS_BASE_URL,
        api_key=settings.EMBEDDINGS_API_KEY,
        model=settings.EMBEDDINGS_MODEL,
        dimensions=settings.EMBEDDINGS_DIMENSIONS,
        timeout=float(settings.EMBEDDINGS_TIMEOUT_SECONDS),
        retries=settings.EMBEDDINGS_RETRIES,
        backoff=settings.EMBEDDINGS_RETRY_BACKOFF_SECONDS,
        backoff_cap=settings.EMBEDDINGS_RETRY_BACKOFF_CAP_SECONDS,
        max_answer_bytes=settings.EMBEDDINGS_MAX_ANSWER_BYTES,
    )


class EmbeddingsClient(ProviderClient):
    label = "the embeddings provider"
    setting = "EMBEDDINGS"
    metrics_name = "embeddings"

    def __init__(
        self,
        settings: EmbeddingsSettings,
        *,
        stop: threading.Event | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(settings, stop=stop, transport=transport, logger=logger)
        self.settings = settings

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in the order of ``texts``, after retries."""
        s = self.settings
        body: dict[str, object] = {"model": s.model, "input": list(texts)}
        if s.sends_dimensions:
            body["dimensions"] = s.dimensions

        @contextmanager
        def send(http: httpx.Client) -> Iterator[httpx.Response]:
            with http.stream("POST", s.url, json=body, headers=self.headers()) as response:
                yield response

        answer = self.request("embeddings", send)
        vectors = self.vectors(answer, len(texts))
        metrics.provider_tokens.labels(self.metrics_name).inc(sent_tokens(answer, texts))
        return vectors

    def vectors(self, answer: dict, count: int) -> list[list[float]]:
        """The vectors of an answer, checked: one per input, each of the configured size
        and finite."""
        data = answer.get("data")
        if not isinstance(data, list) or len(data) != count:
            raise ProviderError(
                f"{self.label}'s answer does not have one vector per passage (malformed answer)"
            )
        vectors: list[list[float] | None] = [None] * count
        for position, item in enumerate(data):
            if not isinstance(item, dict):
                raise ProviderError(f"{self.label}'s answer is malformed")
            index = item.get("index", position)
            vector = item.get("embedding")
            if not isinstance(index, int) or not 0 <= index < count or vectors[index] is not None:
                raise ProviderError(f"{self.label}'s answer has a bad index (malformed answer)")
            if not isinstance(vector, list):
                raise ProviderError(
                    f"{self.label}'s answer has no vector (only float encoding is read)"
                )
            if len(vector) != self.settings.dimensions:
                raise ProviderError(
                    f"{self.label} answered vectors of {len(vector)} dimensions, not "
                    f"{self.settings.dimensions}; set EMBEDDINGS_DIMENSIONS to the model's "
                    "size"
                )
            if not all(
                isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
                for x in vector
            ):
                raise ProviderError(f"{self.label}'s answer has a vector that is not numbers")
            vectors[index] = [float(x) for x in vector]
        return vectors  # type: ignore[return-value]


def sent_tokens(answer: dict, texts: Sequence[str]) -> int:
    """The tokens of ``texts`` as the provider's ``usage`` counts them, else estimated (one
    per 4 characters, as the assistant's estimate)."""
    usage = answer.get("usage")
    tokens = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    if isinstance(tokens, int) and not isinstance(tokens, bool) and tokens >= 0:
        return tokens
    return sum(-(-len(text) // 4) for text in texts)
