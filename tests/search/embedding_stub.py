"""An embeddings provider on 127.0.0.1 that speaks OpenAI's ``POST /v1/embeddings`` with a
small deterministic model of its own, and misbehaves on demand (the transcription stub's
``Fault``s: a status with headers, a stall, a dropped connection, a body that is not JSON,
a huge answer).

The model (``lexicon_vector``) is plain about what it is: the text's words, lower-cased,
stop words dropped and suffixes stripped, hashed into the vector; each word also adds the
groups of related words it belongs to in a small lexicon written for the suite
(``tests/search/lexicon/*.txt``: general relations between words, such as
``energy power fuel atp``). Two texts are near when they share words or related words. It
knows nothing of any question or answer of the evaluation set; what it cannot relate, it
does not find.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from tests.transcripts.provider_stub import API_KEY, Fault, ProviderStub, _Handler

__all__ = ["API_KEY", "DIMENSIONS", "EmbeddingStub", "Fault", "lexicon_vector"]

DIMENSIONS = 256
LEXICON = Path(__file__).resolve().parent / "lexicon"
MAX_INPUTS = 2048  # OpenAI's limit of inputs per request
MAX_INPUT_CHARS = 32_000  # about 8,192 tokens

STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "get",
        "gets",
        "got",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "let",
        "like",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "out",
        "over",
        "own",
        "same",
        "say",
        "says",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "us",
        "very",
        "was",
        "way",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "okay",
        "so",
        "yeah",
        "right",
        "really",
        "thing",
        "things",
        "kind",
        "lot",
        "lots",
        "one",
        "two",
        "first",
        "second",
    ]
)
_WORD = re.compile(r"[a-z0-9]+")


def stem(word: str) -> str:
    """A crude English stem: enough that "cells" meets "cell" and "producing" "produce"."""
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", "e")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + keep
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def content_words(text: str) -> list[str]:
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in STOP_WORDS]


@cache
def lexicon() -> dict[str, frozenset[int]]:
    """Each stemmed word of the lexicon and the groups (line numbers, across files) it is in."""
    groups: dict[str, set[int]] = {}
    number = 0
    for path in sorted(LEXICON.glob("*.txt")):
        for line in path.read_text().splitlines():
            words = line.split("#", 1)[0].split()
            if len(words) < 2:
                continue
            number += 1
            for word in words:
                groups.setdefault(stem(word.lower()), set()).add(number)
    return {word: frozenset(ids) for word, ids in groups.items()}


def _slot(feature: str, dimensions: int) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
    return int.from_bytes(digest[:4], "big") % dimensions, 1.0 if digest[4] & 1 else -1.0


def lexicon_vector(text: str, dimensions: int = DIMENSIONS) -> list[float]:
    """The model: a unit vector of ``text``'s words and their related-word groups."""
    vector = [0.0] * dimensions
    related = lexicon()
    for word in content_words(text):
        for feature in (f"w:{word}", *(f"g:{g}" for g in related.get(word, ()))):
            index, sign = _slot(feature, dimensions)
            vector[index] += sign
    norm = math.sqrt(sum(x * x for x in vector))
    if norm == 0:
        # No word it knows: a fixed direction of its own, as real models give some vector.
        index, sign = _slot("empty", dimensions)
        vector[index] = sign
        return vector
    return [x / norm for x in vector]


class _EmbeddingsHandler(_Handler):
    def _post(self, stub: EmbeddingStub) -> None:  # type: ignore[override]
        if self.path != "/v1/embeddings":
            self._error(404, "not found")
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        fault = stub.next_fault()
        if fault is not None and self._misbehave(fault):
            return
        authorization = self.headers.get("Authorization")
        if stub.api_key and authorization != f"Bearer {stub.api_key}":
            self._error(401, f"Incorrect API key provided: {(authorization or '')[7:]}.")
            return
        try:
            request = json.loads(body)
        except ValueError:
            self._error(400, "We could not parse the JSON body of your request.")
            return
        texts = request.get("input") if isinstance(request, dict) else None
        if isinstance(texts, str):
            texts = [texts]
        if (
            not isinstance(texts, list)
            or not texts
            or not all(isinstance(t, str) and t for t in texts)
            or not request.get("model")
        ):
            self._error(400, "'input' (non-empty strings) and 'model' are required")
            return
        if len(texts) > MAX_INPUTS or any(len(t) > MAX_INPUT_CHARS for t in texts):
            self._error(400, "This model's maximum context length is 8192 tokens.")
            return
        with stub.lock:
            stub.received.append(request)
        if stub.hold is not None:
            stub.hold()
        if stub.answer is not None:
            self._json(200, stub.answer(request))
            return
        dimensions = request.get("dimensions") or stub.dimensions
        self._json(
            200,
            {
                "object": "list",
                "data": [
                    {"object": "embedding", "index": i, "embedding": lexicon_vector(t, dimensions)}
                    for i, t in enumerate(texts)
                ],
                "model": request["model"],
                "usage": {
                    "prompt_tokens": sum(len(t.split()) for t in texts),
                    "total_tokens": sum(len(t.split()) for t in texts),
                },
            },
        )


class EmbeddingStub(ProviderStub):
    """``received`` holds each request's JSON body; ``answer(request)`` replaces the model's
    answer (a wrong size, a missing vector)."""

    handler = _EmbeddingsHandler

    def __init__(self, *, api_key: str | None = API_KEY, dimensions: int = DIMENSIONS) -> None:
        super().__init__(api_key=api_key, decode=False)
        self.dimensions = dimensions
        self.received: list[dict[str, Any]] = []  # type: ignore[assignment]
        self.answer: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # type: ignore[assignment]

    def inputs(self) -> list[str]:
        """Every text embedded so far, in the order received."""
        return [text for request in self.received for text in _as_list(request["input"])]


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
