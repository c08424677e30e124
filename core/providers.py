"""HTTP to an OpenAI-compatible provider (transcription, embeddings, the assistant's chat):
one way to retry, to read an answer within bounds and to say what went wrong without
showing the key.

Transient failures (timeouts, connection errors, 429 honouring ``Retry-After``, 408 and
5xx) are retried with back-off; anything else fails at once. The API key goes only into
the ``Authorization`` header: error messages are built here from status codes and redacted
provider text, never from an exception or a request that could carry the key.

A client names its provider for people (``label``: "the transcription provider") and the
prefix of its settings (``setting``: ``TRANSCRIPTION`` for ``TRANSCRIPTION_API_KEY``), and
sends its requests with ``request``, giving it the request as a context manager that
yields the streamed response; an answer read as it is written (Server-Sent Events) is
opened with ``streaming`` and read with ``sse_data``.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from core import metrics, redaction

# Waits longer than this (a Retry-After of an hour) are not waited out inside a job.
LONGEST_WAIT_SECONDS = 600.0
_ERROR_BODY_BYTES = 16 * 1024
_T = TypeVar("_T")


class ProviderError(Exception):
    """A request failed for good; ``str()`` is a short message for people."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient

    def __str__(self) -> str:
        return self.message


class Stopped(Exception):
    """The job stopped (another request failed, or the claim was lost) while this waited."""


@dataclass(frozen=True)
class Endpoint:
    """Where a provider is and how patiently it is asked."""

    base_url: str
    api_key: str
    timeout: float
    retries: int = 4
    backoff: float = 2.0
    backoff_cap: float = 60.0
    max_answer_bytes: int = 4 * 1024 * 1024

    def url_of(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}/{path.lstrip('/')}"

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or "the provider"


class ProviderClient:
    """Requests to one provider, retried; one per job, safe to share between threads."""

    label = "the provider"
    setting = "PROVIDER"
    # The ``provider`` label of its metrics (``core.metrics``).
    metrics_name = "provider"

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        stop: threading.Event | None = None,
        transport: httpx.BaseTransport | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.stop = stop or threading.Event()
        self.logger = logger or logging.getLogger("studybuddy")
        timeout = httpx.Timeout(endpoint.timeout, connect=min(endpoint.timeout, 15.0))
        self._http = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ProviderClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.endpoint.api_key:
            headers["Authorization"] = f"Bearer {self.endpoint.api_key}"
        return headers

    def request(
        self, what: str, send: Callable[[httpx.Client], AbstractContextManager[httpx.Response]]
    ) -> dict[str, Any]:
        """The JSON object the provider answers, after retries. ``send(http)`` is a context
        manager around the streamed response (``http.stream(…)``); ``what`` names the
        request in logs."""
        return self._retrying(what, lambda: self._once(send))

    @contextmanager
    def streaming(
        self,
        what: str,
        send: Callable[[httpx.Client], AbstractContextManager[httpx.Response]],
        *,
        deadline: float | None = None,
    ) -> Iterator[httpx.Response]:
        """The provider's streamed answer, open, once it answered 200: refusals and
        transient failures before that are handled as ``request``'s (a wait that would end
        past ``deadline``, a ``time.monotonic()``, fails instead). No answer within the
        client's timeout fails at once: the caller is waiting."""
        with ExitStack() as stack:

            def once() -> httpx.Response:
                opened = send(self._http)
                started = time.monotonic()
                try:
                    response = opened.__enter__()
                except httpx.TimeoutException:
                    self._answered("timeout", started)
                    raise ProviderError(
                        f"{self.label} did not answer within {self.endpoint.timeout:.0f} s"
                    ) from None
                except (httpx.TransportError, httpx.StreamError):
                    self._answered("connection", started)
                    raise _Retry("connection failed", kind="connection") from None
                self._answered(response.status_code, started)
                if response.status_code != 200:
                    try:
                        self._refused(response)
                    finally:
                        opened.__exit__(None, None, None)
                stack.push(opened.__exit__)
                return response

            yield self._retrying(what, once, deadline=deadline)

    def _retrying(self, what: str, once: Callable[[], _T], *, deadline: float | None = None) -> _T:
        attempt = 0
        while True:
            if self.stop.is_set():
                raise Stopped
            try:
                return once()
            except _Retry as retry:
                if self.stop.is_set():
                    raise Stopped from None  # the job ended meanwhile: no retry
                attempt += 1
                if attempt > self.endpoint.retries:
                    raise ProviderError(self._final(retry, attempt), transient=True) from None
                delay = retry.retry_after
                if delay is None:
                    delay = min(
                        self.endpoint.backoff_cap, self.endpoint.backoff * 2 ** (attempt - 1)
                    )
                if delay > LONGEST_WAIT_SECONDS or (
                    deadline is not None and time.monotonic() + delay > deadline
                ):
                    raise ProviderError(
                        f"{self.label} asked to wait {delay:.0f} s ({retry.reason}); "
                        "try again later",
                        transient=True,
                    ) from None
                self.logger.warning(
                    "%s request to %s: %s; retry %d in %.1f s",
                    what,
                    self.endpoint.host,
                    retry.reason,
                    attempt,
                    delay,
                )
                if self.stop.wait(delay):
                    raise Stopped from None

    def _once(
        self, send: Callable[[httpx.Client], AbstractContextManager[httpx.Response]]
    ) -> dict[str, Any]:
        limit = self.endpoint.max_answer_bytes
        started = time.monotonic()
        status: int | str = "connection"
        try:
            with send(self._http) as response:
                status = response.status_code
                if response.status_code != 200:
                    self._refused(response)
                body = read_bounded(response, limit, too_large=self._too_large)
        except httpx.TimeoutException:
            status = "timeout"
            raise _Retry(
                f"no answer within {self.endpoint.timeout:.0f} s", kind="timeout"
            ) from None
        except (httpx.TransportError, httpx.StreamError):
            # Connection refused, reset or dropped mid-answer: worth another try.
            status = "connection"
            raise _Retry("connection failed", kind="connection") from None
        finally:
            self._answered(status, started)
        try:
            answer = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ProviderError(f"{self.label}'s answer is not JSON (malformed answer)") from None
        if not isinstance(answer, dict):
            raise ProviderError(f"{self.label}'s answer is not a JSON object")
        return answer

    def _answered(self, status: int | str, started: float) -> None:
        metrics.provider_answered(self.metrics_name, status, time.monotonic() - started)

    def _too_large(self, limit: int) -> ProviderError:
        return ProviderError(
            f"{self.label}'s answer is larger than {limit // (1024 * 1024)} MiB (malformed answer)"
        )

    def _refused(self, response: httpx.Response) -> None:
        status = response.status_code
        if status == 429:
            raise _Retry("HTTP 429", kind="429", retry_after=retry_after(response))
        if status >= 500 or status == 408:
            raise _Retry(f"HTTP {status}", kind=f"HTTP {status}")
        if status in (401, 403):
            raise ProviderError(
                f"{self.label} refused the API key (HTTP {status}); check {self.setting}_API_KEY"
            )
        if 300 <= status < 400:
            raise ProviderError(
                f"{self.label} answered a redirect (HTTP {status}); check {self.setting}_BASE_URL"
            )
        detail = self._error_detail(response)
        raise ProviderError(
            f"{self.label} refused the request (HTTP {status}" + (f": {detail})" if detail else ")")
        )

    def _error_detail(self, response: httpx.Response) -> str:
        """The provider's own reason (OpenAI's ``{"error": {"message"}}``), redacted."""
        try:
            raw = read_bounded(response, _ERROR_BODY_BYTES, truncate=True)
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
        return redact(message, self.endpoint.api_key)[:160]

    def _final(self, retry: _Retry, attempts: int) -> str:
        if retry.kind == "timeout":
            return f"{self.label} did not answer in time ({attempts} attempts)"
        if retry.kind == "connection":
            return f"could not reach {self.label} ({attempts} attempts)"
        if retry.kind == "429":
            return f"{self.label} kept answering HTTP 429 ({attempts} attempts)"
        return f"{self.label} failed with {retry.kind} ({attempts} attempts)"


class _Retry(Exception):
    def __init__(self, reason: str, *, kind: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        self.retry_after = retry_after


def read_bounded(
    response: httpx.Response,
    limit: int,
    *,
    truncate: bool = False,
    too_large: Callable[[int], Exception] | None = None,
) -> bytes:
    """The body, at most ``limit`` bytes: cut there (``truncate``) or refused."""
    declared = response.headers.get("Content-Length", "")
    if not truncate and declared.isdigit() and int(declared) > limit and too_large:
        raise too_large(limit)
    parts: list[bytes] = []
    size = 0
    for part in response.iter_bytes():
        parts.append(part)
        size += len(part)
        if size > limit:
            if truncate or too_large is None:
                break
            raise too_large(limit)
    return b"".join(parts)[:limit]


def retry_after(response: httpx.Response) -> float | None:
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


class StreamCut(Exception):
    """A streamed answer reached one of its limits (its size or its deadline): what came
    so far is whole, the rest is not read."""


def sse_data(
    response: httpx.Response,
    *,
    label: str,
    deadline: float,
    max_line_bytes: int,
    max_total_bytes: int,
) -> Iterator[str]:
    """The ``data:`` payloads of a Server-Sent Events answer, as they arrive, up to the
    provider's final ``data: [DONE]``.

    An answer that ends without ``[DONE]``, a dropped connection, a pause past the client's
    read timeout or a line over ``max_line_bytes`` is a ``ProviderError``; the body past
    ``max_total_bytes`` or the clock past ``deadline`` (a ``time.monotonic()``) stops it
    with ``StreamCut``. Comments and other fields (``event:``, ``id:``) are skipped.
    """
    buffer = b""
    total = 0
    try:
        for chunk in response.iter_raw():
            if time.monotonic() > deadline:
                raise StreamCut
            # One read can hold the whole answer: the lines within the limit still count.
            room = max_total_bytes - total
            total += len(chunk)
            buffer += chunk[:room]
            *lines, buffer = buffer.split(b"\n")
            if len(buffer) > max_line_bytes:
                raise ProviderError(f"{label} sent a line over {max_line_bytes} bytes")
            for line in lines:
                line = line.rstrip(b"\r")
                if not line.startswith(b"data:"):
                    continue
                payload = line[5:].strip().decode("utf-8", "replace")
                if payload == "[DONE]":
                    return
                yield payload
            if total > max_total_bytes:
                raise StreamCut
    except httpx.TimeoutException:
        raise ProviderError(f"{label} stopped answering mid-stream") from None
    except (httpx.TransportError, httpx.StreamError):
        raise ProviderError(f"{label} dropped the connection mid-stream") from None
    raise ProviderError(f"{label}'s answer ended before its end ([DONE])")
