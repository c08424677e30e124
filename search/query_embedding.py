"""The embedding of a search's query: one request to the provider, briefly cached.

A search waits for this vector, so it is asked for once, with a short timeout and no retry
(the embedding job's patience, ``EMBEDDINGS_TIMEOUT_SECONDS`` and back-off, is for work that
nobody waits on); a provider that fails or is slow raises ``ProviderError`` and the search
answers by words alone (``search.selectors``). The vector is kept in Django's cache for a
few minutes, keyed by the space (model and size) and a hash of the query as it is sent, so a
student paging through results or repeating a search asks the provider once; while the
cache is down, every search asks it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging

from django.core.cache import cache

from search.provider import EmbeddingsClient, embeddings_settings

logger = logging.getLogger("studybuddy.search")

# A search answers within a few seconds or falls back to words: an embedding request of a
# one-line query takes well under a second when the provider is well.
QUERY_TIMEOUT_SECONDS = 5.0
# Long enough for the next pages of one search and a repeated query, short enough that a
# model changed behind the same name is picked up soon.
QUERY_CACHE_SECONDS = 300


def normalized_query(q: str) -> str:
    """The query as it is embedded and cached: runs of white space as one space."""
    return " ".join(q.split())


def query_cache_key(*, space: str, q: str) -> str:
    digest = hashlib.sha256(f"{space}\n{normalized_query(q)}".encode()).hexdigest()
    return f"search:query-embedding:{digest}"


def query_embedding(*, q: str) -> list[float]:
    """The configured model's vector of ``q``, from the cache or one request; raises
    ``ProviderError`` when the provider fails, refuses or does not answer in time."""
    configured = embeddings_settings()
    key = query_cache_key(space=configured.space, q=q)
    vector = _cached(key)
    if vector is not None:
        return vector
    once = dataclasses.replace(
        configured, timeout=min(QUERY_TIMEOUT_SECONDS, configured.timeout), retries=0
    )
    with EmbeddingsClient(once) as client:
        (vector,) = client.embed([normalized_query(q)])
    _keep(key, vector)
    return vector


# The cache only saves provider requests: a cache that is down (Redis restarting) is a miss,
# and the search goes on without it.
def _cached(key: str) -> list[float] | None:
    try:
        return cache.get(key)
    except Exception as exc:  # each backend raises its own errors
        logger.warning("query embedding cache unavailable: %s", exc)
        return None


def _keep(key: str, vector: list[float]) -> None:
    try:
        cache.set(key, vector, QUERY_CACHE_SECONDS)
    except Exception as exc:  # each backend raises its own errors
        logger.warning("query embedding cache unavailable: %s", exc)
