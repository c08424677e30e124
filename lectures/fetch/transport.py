"""The guarded HTTP client: every byte of a recording is fetched through it.

Built from public ``httpcore``/``httpx`` API only: an ``httpcore.ConnectionPool`` given our
own network backend (:class:`GuardedBackend`, which resolves each host itself and connects
only to an address the policy allows), wrapped in an ``httpx.BaseTransport``. TLS still
uses the host name for SNI and the certificate check: httpcore takes it from the request's
origin, not from the address we connect to.

:func:`open_url` follows redirects by hand, so each hop's URL is checked before it is
requested, and turns HTTP statuses and network failures into :mod:`~lectures.fetch.errors`.
"""

from __future__ import annotations

import functools
import socket
import ssl
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from email.utils import parsedate_to_datetime
from typing import Any, Self
from urllib.parse import urljoin

import httpcore
import httpx

from core import metrics
from lectures.fetch.errors import (
    BlockedSource,
    DownloadTooSlow,
    PermanentSourceError,
    SourceHTTPError,
    TransientSourceError,
)
from lectures.fetch.guard import SourcePolicy, check_ip_literal, check_resolved, check_url_shape

__all__ = [
    "READ_FAILURES",
    "GuardedBackend",
    "GuardedSession",
    "GuardedTransport",
    "abort_response",
    "lost_connection",
    "open_url",
]

_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
# What reading a response body raises when the connection drops or stalls.
READ_FAILURES = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class GuardedBackend(httpcore.SyncBackend):
    """An httpcore backend that connects only to addresses the policy allows.

    httpcore hands us the host name; we resolve it ourselves and connect to a vetted IP.
    TLS still uses the host name (SNI, certificate check), because httpcore wraps the
    returned stream with ``server_hostname`` taken from the request's origin.
    """

    def __init__(self, policy: SourcePolicy) -> None:
        self._policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """Resolve, vet and connect; the first vetted address that answers wins."""
        last_error: Exception | None = None
        for address in check_resolved(host, port, self._policy):
            try:
                stream = super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
            else:
                return _LargeReads(stream)
        assert last_error is not None
        raise last_error


# What one socket read may return. httpcore asks for 64 KiB at a time, and every read costs
# a trip through h11, httpx's iterator and a file write in Python: on a fast link that
# overhead was a third of a lecture's download time. A read returns what has already
# arrived, so a larger limit never waits for more data.
_READ_BYTES = 1048576


class _LargeReads(httpcore.NetworkStream):
    """A network stream whose reads take up to ``_READ_BYTES`` at once."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max(max_bytes, _READ_BYTES), timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, timeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _LargeReads(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


# httpcore's exceptions and what httpx calls them, most specific first: callers (and the
# error mapping below) speak httpx only.
_HTTPCORE_TO_HTTPX: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextmanager
def _httpx_errors() -> Iterator[None]:
    """Raise httpcore's failures as their httpx counterparts; anything else (the guard's
    :class:`BlockedSource` from ``connect_tcp``) passes through unchanged."""
    try:
        yield
    except Exception as exc:
        for core_error, httpx_error in _HTTPCORE_TO_HTTPX:
            if isinstance(exc, core_error):
                raise httpx_error(str(exc)) from exc
        raise


class _ResponseStream(httpx.SyncByteStream):
    """An httpcore response body, read with httpx's exceptions, ending the download once
    its deadline has passed (a source that drips a byte at a time never times out a read)."""

    def __init__(self, stream: Iterable[bytes], deadline: float) -> None:
        self._stream = stream
        self._deadline = deadline

    def __iter__(self) -> Iterator[bytes]:
        with _httpx_errors():
            for chunk in self._stream:
                if time.monotonic() > self._deadline:
                    raise DownloadTooSlow()
                metrics.lecture_source_bytes.inc(len(chunk))
                yield chunk

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying context per process: loading the CA bundle takes 20-80 ms, which every
    download paid again. A context is safe to share between threads once set up."""
    return httpx.create_ssl_context(trust_env=False)


class GuardedTransport(httpx.BaseTransport):
    """An ``httpx`` transport over an ``httpcore.ConnectionPool`` using
    :class:`GuardedBackend`.

    No proxy support on purpose: a proxy would do the resolving, out of the guard's reach.
    """

    def __init__(self, policy: SourcePolicy, *, deadline: float) -> None:
        self._deadline = deadline
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=4,
            max_keepalive_connections=4,
            network_backend=GuardedBackend(policy),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the pool; the body is streamed, not read."""
        assert isinstance(request.stream, httpx.SyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            core_response = self._pool.handle_request(core_request)
        assert isinstance(core_response.stream, Iterable)
        return httpx.Response(
            status_code=core_response.status,
            headers=core_response.headers,
            stream=_ResponseStream(core_response.stream, self._deadline),
            extensions=core_response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


class GuardedSession:
    """Sends GET requests straight to a :class:`GuardedTransport`.

    Not an ``httpx.Client`` on purpose: the client reads proxy settings from the
    environment and parses every ``Location`` header itself (failing on spellings such as
    ``0177.0.0.1``); here redirects are the caller's job, hop by hop.
    """

    def __init__(self, policy: SourcePolicy) -> None:
        # One deadline for everything this session fetches: redirects, playlists, keys,
        # segments and retries all count against LECTURE_DOWNLOAD_TIMEOUT_SECONDS.
        self._deadline = time.monotonic() + policy.download_timeout
        self._transport = GuardedTransport(policy, deadline=self._deadline)
        self._policy = policy

    def _timeout(self) -> dict[str, float]:
        """The policy's timeouts, none past the deadline; past it, the download is over."""
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise DownloadTooSlow()
        policy = self._policy
        return httpx.Timeout(
            connect=min(policy.connect_timeout, remaining),
            read=min(policy.read_timeout, remaining),
            write=min(policy.read_timeout, remaining),
            pool=min(policy.connect_timeout, remaining),
        ).as_dict()

    def get(self, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
        """Send one GET; the response body is streamed (read it, then close it)."""
        request = httpx.Request(
            "GET",
            url,
            # Range offsets count bytes on the wire: ask for them unencoded.
            headers={
                "Accept-Encoding": "identity",
                "User-Agent": "StudyBuddy/1.0",
                **(headers or {}),
            },
            extensions={"timeout": self._timeout()},
        )
        response = self._transport.handle_request(request)
        response.request = request
        return response

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


@contextmanager
def open_url(
    client: GuardedSession, url: str, policy: SourcePolicy, headers: dict[str, str] | None = None
) -> Iterator[tuple[httpx.Response, str]]:
    """GET ``url`` following redirects by hand; yields the response and the final URL.

    Each hop is checked for scheme and credentials here and for its address at connect
    time. HTTP errors and network failures become :class:`SourceError` subclasses.
    """
    current = url
    for _hop in range(policy.max_redirects + 1):
        host, _port = check_url_shape(current)
        check_ip_literal(host, policy)
        try:
            with _mapped_network_errors(host):
                response = client.get(current, headers)
        except httpx.InvalidURL:
            raise BlockedSource("stream URL is not a valid URL") from None
        try:
            if response.status_code in _REDIRECT_CODES:
                location = response.headers.get("location")
                if not location:
                    raise SourceHTTPError(
                        f"{host} answered a redirect without a location",
                        status_code=response.status_code,
                    )
                current = urljoin(current, location)
                continue
            _raise_for_status(response, host)
            with _mapped_network_errors(host):
                yield response, current
            return
        finally:
            response.close()
    raise BlockedSource(f"too many redirects (more than {policy.max_redirects})")


def abort_response(response: httpx.Response) -> None:
    """End a streamed response's connection from another thread: a read blocked on it
    returns at once (closing the socket alone does not wake it; shutting it down does).
    The reading thread then sees a lost connection."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if sock is None:
        return
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


@contextmanager
def lost_connection(host: str) -> Iterator[None]:
    """While reading a body: a dropped or stalled connection is a transient failure."""
    try:
        yield
    except READ_FAILURES:
        raise TransientSourceError(f"connection to {host} was lost") from None


@contextmanager
def _mapped_network_errors(host: str) -> Iterator[None]:
    """Turn httpx failures into short messages without the URL (httpx puts it in some)."""
    try:
        yield
    except httpx.TimeoutException:
        raise TransientSourceError(f"timed out while talking to {host}") from None
    except (httpx.NetworkError, httpx.RemoteProtocolError):
        raise TransientSourceError(f"connection to {host} was lost") from None
    except httpx.HTTPError:
        raise PermanentSourceError(f"could not fetch the recording from {host}") from None


def _raise_for_status(response: httpx.Response, host: str) -> None:
    status = response.status_code
    if status < 300:
        return
    if status == 429 or status >= 500:
        raise TransientSourceError(
            f"{host} answered HTTP {status}", retry_after=_retry_after(response)
        )
    raise SourceHTTPError(f"{host} answered HTTP {status}", status_code=status)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
