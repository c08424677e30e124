"""Fetching lecture recordings: the SSRF guard and the built-in downloader.

Every network byte of a recording goes through one guarded ``httpx`` client:

* request time: :func:`validate_stream_url` (scheme, credentials, allowed host, address);
* connect time: :class:`GuardedBackend` resolves the host itself and connects only to a
  vetted address, so a DNS answer that changes between the check and the connection
  (DNS rebinding) cannot reach a private address;
* every redirect hop and every HLS playlist, key and segment URL is fetched through the same
  client, redirects followed by hand so each hop is checked and counted.

FFmpeg never sees a URL: the downloader writes a local scratch file (the MP4 itself, or the
HLS segments decrypted and concatenated into one MPEG-TS/fMP4 file).

Error messages are short, meant for ``Lecture.error_message``, and never contain the
stream URL's query string (signed CDN URLs carry credentials there): only host names.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal, Self, TypeVar
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = [
    "DEFAULT_ALLOWED_HOSTS",
    "BlockedSource",
    "DownloadResult",
    "GuardedBackend",
    "GuardedSession",
    "GuardedTransport",
    "NoAudioSource",
    "NotMediaSource",
    "PermanentSourceError",
    "SourceError",
    "SourceHTTPError",
    "SourcePolicy",
    "SourceTooLarge",
    "TransientSourceError",
    "UnsupportedSource",
    "address_is_blocked",
    "download",
    "parse_host_list",
    "validate_stream_url",
]

DEFAULT_ALLOWED_HOSTS: tuple[str, ...] = (
    "panopto.com",
    "panopto.eu",
    "panopto.ca",
    "panopto.com.au",
    "cloudfront.net",
)

HLS_CONTENT_TYPES = frozenset(
    {"application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl", "audio/x-mpegurl"}
)
# binary/octet-stream is what S3 (and so many CDNs in front of it) sends for unknown files.
_GENERIC_BINARY_TYPES = frozenset({"application/octet-stream", "binary/octet-stream"})
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_MAX_PLAYLIST_BYTES = 8 * 1024 * 1024
_AES_KEY_BYTES = 16

T = TypeVar("T")
Resolver = Callable[[str, int], list[str]]
ProgressCallback = Callable[[float], None]


# --------------------------------------------------------------------------- errors


class SourceError(Exception):
    """A recording could not be fetched; ``str(error)`` is a short message for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class TransientSourceError(SourceError):
    """Timeouts, dropped connections, HTTP 5xx and 429: worth trying again later."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, made_progress: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        # Set when the failed attempt still moved the download forward (resume, not retry).
        self.made_progress = made_progress


class PermanentSourceError(SourceError):
    """Trying again will not help: the job fails at once."""


class BlockedSource(PermanentSourceError):
    """The URL (or a redirect, playlist entry or resolved address) is not allowed."""


class SourceHTTPError(PermanentSourceError):
    """The server answered an HTTP 4xx (other than 429)."""

    def __init__(self, message: str, *, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class NotMediaSource(PermanentSourceError):
    """The response is not a video, an audio file or an HLS playlist."""


class SourceTooLarge(PermanentSourceError):
    """The recording is larger than the configured limit."""


class NoAudioSource(PermanentSourceError):
    """The HLS playlist declares only renditions without audio."""


class UnsupportedSource(PermanentSourceError):
    """A malformed playlist or a feature the downloader does not handle (e.g. SAMPLE-AES)."""


# --------------------------------------------------------------------------- policy


def _system_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` to its IP addresses, in the order the system prefers them."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class SourcePolicy:
    """What the downloader may fetch and how; built from settings by the Django layer.

    ``allowed_hosts`` apply to the stream URL itself (a host matches itself and its
    subdomains; IP literals match exactly). Redirect targets, playlist entries and keys may
    be on other hosts, but every connection gets the private-address check unless
    ``allow_private_networks``. ``exempt_networks`` (CIDRs) lifts that check for chosen
    networks only, e.g. an on-premise Panopto server, without opening every private range.
    """

    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    allow_private_networks: bool = False
    exempt_networks: tuple[str, ...] = ()
    max_bytes: int = 4 * 1024**3
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_retries: int = 4
    backoff_base: float = 1.0
    backoff_cap: float = 30.0
    max_redirects: int = 5
    # A download that keeps making progress may resume more often than it may fail in a row.
    max_resumes: int = 50
    resolver: Resolver = field(default=_system_resolver, compare=False, repr=False)
    _exempt: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(
        init=False, default=(), compare=False, repr=False
    )

    def __post_init__(self) -> None:
        hosts = tuple(_normalise_allowed_host(h) for h in self.allowed_hosts if h.strip())
        object.__setattr__(self, "allowed_hosts", hosts)
        # Parsing here makes a bad CIDR in settings fail at start-up, not mid-download.
        nets = tuple(ipaddress.ip_network(n.strip(), strict=False) for n in self.exempt_networks)
        object.__setattr__(self, "_exempt", nets)

    def address_allowed(self, address: str) -> bool:
        """Whether a resolved IP address may be connected to."""
        if self.allow_private_networks:
            return True
        ip = ipaddress.ip_address(address)
        if any(ip in net for net in self._exempt):
            return True
        return not address_is_blocked(ip)


def parse_host_list(value: str) -> tuple[str, ...]:
    """Split a comma-separated host list (the ``PANOPTO_ALLOWED_HOSTS`` format)."""
    return tuple(h.strip() for h in value.split(",") if h.strip())


def _normalise_allowed_host(host: str) -> str:
    host = host.strip().lower().rstrip(".").lstrip(".")
    literal = _parse_ip_literal(host.strip("[]"))
    return str(literal) if literal is not None else host


# --------------------------------------------------------------------------- addresses

# inet_aton accepts the legacy forms browsers and resolvers also accept: 2130706433,
# 0177.0.0.1, 0x7f.1, 127.1. They must be recognised as IP literals, not host names.
_LEGACY_IPV4 = re.compile(
    r"^(?:0x[0-9a-f]+|[0-9]+)(?:\.(?:0x[0-9a-f]+|[0-9]+)){0,3}$", re.IGNORECASE
)


def _parse_ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Return the address when ``host`` is an IP literal in any accepted spelling."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if _LEGACY_IPV4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def address_is_blocked(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Loopback, private, link-local, multicast, reserved, unspecified, or v4-in-v6."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            # Refused outright: stacks differ on how they route ::ffff:a.b.c.d.
            return True
        embedded = ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and address_is_blocked(embedded):
            return True
        if ip.is_site_local:
            return True
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def _host_allowed(host: str, allowed: Iterable[str]) -> bool:
    literal = _parse_ip_literal(host)
    if literal is not None:
        return str(literal) in allowed
    host = host.rstrip(".")
    return any(host == a or host.endswith("." + a) for a in allowed)


def _display_host(url: str) -> str:
    """The part of a URL that is safe to show: the host name only."""
    try:
        return urlsplit(url).hostname or "the source"
    except ValueError:
        return "the source"


def _check_url_shape(url: str) -> tuple[str, int]:
    """Scheme and credentials checks shared by the first URL and every later hop."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise BlockedSource("stream URL is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise BlockedSource("stream URL must use http or https")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise BlockedSource("stream URL must not contain credentials")
    if not parts.hostname:
        raise BlockedSource("stream URL has no host")
    return parts.hostname, port or (443 if scheme == "https" else 80)


def _check_resolved(host: str, port: int, policy: SourcePolicy) -> list[str]:
    """Resolve ``host`` and return the addresses the policy allows; refuse if none."""
    literal = _parse_ip_literal(host)
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = policy.resolver(host, port)
        except (OSError, UnicodeError):
            raise TransientSourceError(f"could not resolve {host}") from None
    allowed = [a for a in addresses if policy.address_allowed(a)]
    if not allowed:
        raise BlockedSource(f"{host} resolves to a private or reserved network address")
    return allowed


def validate_stream_url(url: str, policy: SourcePolicy) -> None:
    """Refuse a stream URL at request time: scheme, credentials, host list, address.

    Raises :class:`BlockedSource` with a message for the user. The address check runs again
    at connect time, on every hop, on the address actually connected to.
    """
    host, port = _check_url_shape(url)
    if not _host_allowed(host, policy.allowed_hosts):
        raise BlockedSource(f"stream host {host} is not an allowed Panopto host")
    try:
        _check_resolved(host, port, policy)
    except TransientSourceError:
        # A name that does not resolve now is not proof of a bad link (DNS hiccups): the
        # worker resolves it again and fails the lecture with a clear message if it must.
        return


# --------------------------------------------------------------------------- transport


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
        for address in _check_resolved(host, port, self._policy):
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


class GuardedTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` whose connection pool uses :class:`GuardedBackend`.

    No proxy support on purpose: a proxy would do the resolving, out of the guard's reach.
    """

    def __init__(self, policy: SourcePolicy) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=4,
            max_keepalive_connections=4,
            network_backend=GuardedBackend(policy),
        )


class GuardedSession:
    """Sends GET requests straight to a :class:`GuardedTransport`.

    Not an ``httpx.Client`` on purpose: the client reads proxy settings from the
    environment and parses every ``Location`` header itself (failing on spellings such as
    ``0177.0.0.1``); here redirects are the caller's job, hop by hop.
    """

    def __init__(self, policy: SourcePolicy) -> None:
        self._transport = GuardedTransport(policy)
        self._timeout = httpx.Timeout(
            connect=policy.connect_timeout,
            read=policy.read_timeout,
            write=policy.read_timeout,
            pool=policy.connect_timeout,
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
            extensions={"timeout": self._timeout},
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
def _open(
    client: GuardedSession, url: str, policy: SourcePolicy, headers: dict[str, str] | None = None
) -> Iterator[tuple[httpx.Response, str]]:
    """GET ``url`` following redirects by hand; yields the response and the final URL.

    Each hop is checked for scheme and credentials here and for its address at connect
    time. HTTP errors and network failures become :class:`SourceError` subclasses.
    """
    current = url
    for _hop in range(policy.max_redirects + 1):
        host, _port = _check_url_shape(current)
        literal = _parse_ip_literal(host)
        # Caught here too, not only at connect time: httpx cannot parse every IP spelling.
        if literal is not None and not policy.address_allowed(str(literal)):
            raise BlockedSource(f"{host} is a private or reserved network address")
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


# --------------------------------------------------------------------------- content types


def _media_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _is_playlist_type(media_type: str) -> bool:
    return media_type in HLS_CONTENT_TYPES


def _is_media_type(media_type: str) -> bool:
    return (
        media_type.startswith(("video/", "audio/"))
        or media_type in _GENERIC_BINARY_TYPES
        or media_type in HLS_CONTENT_TYPES
    )


def _looks_like_hls_url(url: str) -> bool:
    return urlsplit(url).path.lower().endswith(".m3u8")


# --------------------------------------------------------------------------- download


@dataclass(frozen=True)
class DownloadResult:
    """What landed in the scratch file."""

    size_bytes: int
    content_type: str
    kind: Literal["file", "hls"]


def download(
    url: str,
    dest_path: str | os.PathLike[str],
    policy: SourcePolicy,
    progress_cb: ProgressCallback | None = None,
) -> DownloadResult:
    """Fetch ``url`` into ``dest_path``: a direct media file, or an HLS stream as one file.

    Transient failures are retried with exponential back-off (a dropped direct download
    resumes with ``Range``); permanent ones raise at once. ``progress_cb`` receives the
    fraction done (0.0-1.0) when it is known, at most once per 0.1 %.
    The host allow-list is checked here too, so callers cannot skip it by mistake.
    """
    host, _port = _check_url_shape(url)
    if not _host_allowed(host, policy.allowed_hosts):
        raise BlockedSource(f"stream host {host} is not an allowed Panopto host")
    progress = _Progress(progress_cb)
    dest = Path(dest_path)
    with GuardedSession(policy) as client:
        if _looks_like_hls_url(url):
            return _HLSDownload(client, policy, progress).run(url, dest)
        return _FileDownload(client, policy, progress).run(url, dest)


class _Progress:
    """Calls the callback only when the fraction moved by at least 0.1 %."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self._callback = callback
        self._last = -1.0

    def __call__(self, done: int, total: int | None) -> None:
        if self._callback is None or not total:
            return
        fraction = min(1.0, done / total)
        if fraction - self._last >= 0.001 or (fraction == 1.0 and self._last < 1.0):
            self._last = fraction
            self._callback(fraction)


def _backoff_delay(policy: SourcePolicy, failures: int, error: TransientSourceError) -> float:
    """Exponential back-off, capped; a server's Retry-After wins when it is within the cap."""
    delay = min(policy.backoff_cap, policy.backoff_base * (2 ** (failures - 1)))
    if error.retry_after is not None:
        delay = min(policy.backoff_cap, max(delay, error.retry_after))
    return delay


def _with_retries(policy: SourcePolicy, attempt: Callable[[], T]) -> T:
    """Run ``attempt`` and return its result, retrying on :class:`TransientSourceError`.

    An error with ``made_progress`` resets the count of consecutive failures: a long
    download may drop several times and still finish; ``max_resumes`` bounds those.
    """
    failures = 0
    resumes = 0
    while True:
        try:
            return attempt()
        except TransientSourceError as error:
            if error.made_progress:
                failures, resumes = 1, resumes + 1
            else:
                failures += 1
            if failures > policy.max_retries or resumes > policy.max_resumes:
                raise
            time.sleep(_backoff_delay(policy, failures, error))


class _IsPlaylist(Exception):
    """Internal signal: the direct URL answered with an HLS playlist content type."""


_CONTENT_RANGE = re.compile(r"^bytes\s+(\d+)-(\d+)/(\d+|\*)$", re.IGNORECASE)


class _FileDownload:
    """A direct file, streamed to disk, resumed with ``Range`` after a failure."""

    def __init__(self, client: GuardedSession, policy: SourcePolicy, progress: _Progress) -> None:
        self._client = client
        self._policy = policy
        self._progress = progress
        self._total: int | None = None
        self._validator: str | None = None
        self._content_type = ""

    def run(self, url: str, dest: Path) -> DownloadResult:
        try:
            with open(dest, "wb") as out:
                return _with_retries(self._policy, lambda: self._attempt(url, out))
        except _IsPlaylist:
            # A playlist behind a URL without .m3u8: fetched again, as HLS this time.
            return _HLSDownload(self._client, self._policy, self._progress).run(url, dest)

    def _attempt(self, url: str, out: BinaryIO) -> DownloadResult:
        offset = out.tell()
        headers: dict[str, str] = {}
        if offset:
            headers["Range"] = f"bytes={offset}-"
            if self._validator:
                # Only resume the same representation; a changed file answers 200 instead.
                headers["If-Range"] = self._validator
        with _open(self._client, url, self._policy, headers) as (response, final_url):
            host = _display_host(final_url)
            media_type = _media_type(response)
            if _is_playlist_type(media_type) and not offset:
                raise _IsPlaylist
            if not _is_media_type(media_type):
                raise NotMediaSource("source is not a video")
            self._content_type = media_type
            offset = self._start_position(response, out, offset, host)
            self._validator = response.headers.get("etag") or response.headers.get("last-modified")
            written = self._stream_body(response, out, offset, host)
        if self._total is not None and written < self._total:
            raise TransientSourceError(
                f"connection to {host} ended early", made_progress=written > offset
            )
        out.flush()
        return DownloadResult(size_bytes=written, content_type=self._content_type, kind="file")

    def _start_position(
        self, response: httpx.Response, out: BinaryIO, offset: int, host: str
    ) -> int:
        """Where this response's body starts in the file; checks size and Content-Range."""
        if response.status_code == 206:
            match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
            if not match or int(match.group(1)) != offset:
                raise UnsupportedSource(f"{host} answered a resume request with the wrong range")
            if match.group(3) != "*":
                self._total = int(match.group(3))
        else:
            # 200: a full body, whether we asked for a range or not: start over.
            offset = 0
            out.seek(0)
            out.truncate()
            length = response.headers.get("content-length")
            self._total = int(length) if length and length.isdigit() else None
        if self._total is not None and self._total > self._policy.max_bytes:
            raise SourceTooLarge(_too_large_message(self._policy))
        return offset

    def _stream_body(self, response: httpx.Response, out: BinaryIO, offset: int, host: str) -> int:
        written = offset
        try:
            # No chunk size: httpx's re-chunking buffer would lose the bytes it holds when
            # the connection drops, and the resume offset must count every byte received.
            for chunk in response.iter_raw():
                written += len(chunk)
                if written > self._policy.max_bytes:
                    raise SourceTooLarge(_too_large_message(self._policy))
                out.write(chunk)
                self._progress(written, self._total)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError):
            raise TransientSourceError(
                f"connection to {host} was lost", made_progress=written > offset
            ) from None
        return written


def _too_large_message(policy: SourcePolicy) -> str:
    return f"recording is larger than the {_human_bytes(policy.max_bytes)} limit"


def _human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover - loop always returns


# --------------------------------------------------------------------------- HLS

_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')
_AUDIO_CODEC_PREFIXES = ("mp4a", "ac-3", "ec-3", "opus", "flac", "mp3", "alac")


def _attributes(text: str) -> dict[str, str]:
    """Parse an HLS attribute list: ``KEY=value,KEY="quoted, value"``."""
    return {k: v[1:-1] if v.startswith('"') else v for k, v in _ATTRIBUTE.findall(text)}


@dataclass(frozen=True)
class _Variant:
    uri: str
    bandwidth: int
    codecs: tuple[str, ...] | None
    audio_group: str | None

    @property
    def has_audio(self) -> bool | None:
        """True/False when CODECS or an AUDIO group says so, None when unknown."""
        if self.audio_group:
            return True
        if self.codecs is None:
            return None
        return any(c.lower().startswith(_AUDIO_CODEC_PREFIXES) for c in self.codecs)


@dataclass(frozen=True)
class _Key:
    method: str
    uri: str | None
    iv: bytes | None


@dataclass(frozen=True)
class _Segment:
    uri: str
    sequence: int
    key: _Key | None
    init_uri: str | None
    byte_range: tuple[int, int] | None  # (offset, length)


def _playlist_lines(text: str) -> list[str]:
    lines = [line.strip() for line in text.lstrip("\ufeff").splitlines()]
    lines = [line for line in lines if line]
    if not lines or lines[0] != "#EXTM3U":
        raise NotMediaSource("source is not a video")
    return lines


# A 4-hour lecture in 1-second segments has 14,400; a playlist past these is hostile or
# broken, and each entry costs memory and a request.
_MAX_SEGMENTS = 20_000
_MAX_VARIANTS = 200


def _malformed_playlist_is_unsupported(parse):
    """``int()`` on a bad number or a tag missing its URI: one clear failure, no traceback."""

    def parse_or_refuse(lines: list[str], base: str):
        try:
            return parse(lines, base)
        except (ValueError, KeyError, IndexError):
            raise UnsupportedSource("HLS playlist is malformed") from None

    return parse_or_refuse


@_malformed_playlist_is_unsupported
def _parse_master(lines: list[str], base: str) -> tuple[list[_Variant], dict[str, list[dict]]]:
    variants: list[_Variant] = []
    audio_groups: dict[str, list[dict]] = {}
    pending: dict[str, str] | None = None
    for line in lines:
        if line.startswith("#EXT-X-STREAM-INF:"):
            pending = _attributes(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-MEDIA:"):
            attrs = _attributes(line.split(":", 1)[1])
            if attrs.get("TYPE") == "AUDIO":
                audio_groups.setdefault(attrs.get("GROUP-ID", ""), []).append(attrs)
        elif pending is not None and not line.startswith("#"):
            codecs = pending.get("CODECS")
            variants.append(
                _Variant(
                    uri=urljoin(base, line),
                    bandwidth=int(pending.get("BANDWIDTH", "0") or 0),
                    codecs=tuple(c.strip() for c in codecs.split(",")) if codecs else None,
                    audio_group=pending.get("AUDIO"),
                )
            )
            pending = None
            if len(variants) > _MAX_VARIANTS:
                raise UnsupportedSource("HLS master playlist lists too many streams")
    return variants, audio_groups


def _choose_media_playlist(lines: list[str], base: str) -> str:
    """From a master playlist, the URL of the media playlist that carries the audio.

    The highest-bandwidth variant that declares audio (or, when no variant declares its
    codecs, the highest-bandwidth one); when it takes its audio from a separate rendition
    with its own URI, that rendition is used: audio only, and much smaller.
    """
    variants, audio_groups = _parse_master(lines, base)
    if not variants:
        raise UnsupportedSource("HLS master playlist lists no streams")
    with_audio = [v for v in variants if v.has_audio]
    if not with_audio:
        with_audio = [v for v in variants if v.has_audio is None]
    if not with_audio:
        raise NoAudioSource("recording has no audio")
    best = max(with_audio, key=lambda v: v.bandwidth)
    renditions = [r for r in audio_groups.get(best.audio_group or "", []) if r.get("URI")]
    if renditions:
        chosen = next((r for r in renditions if r.get("DEFAULT") == "YES"), renditions[0])
        return urljoin(base, chosen["URI"])
    return best.uri


def _parse_iv(value: str) -> bytes:
    digits = value[2:] if value.lower().startswith("0x") else value
    try:
        iv = bytes.fromhex(digits.rjust(32, "0"))
    except ValueError:
        raise UnsupportedSource("HLS playlist has an invalid encryption IV") from None
    if len(iv) != 16:
        raise UnsupportedSource("HLS playlist has an invalid encryption IV")
    return iv


@_malformed_playlist_is_unsupported
def _parse_media(lines: list[str], base: str) -> list[_Segment]:
    segments: list[_Segment] = []
    sequence = 0
    key: _Key | None = None
    init_uri: str | None = None
    byte_range: tuple[int, int] | None = None
    next_range_start = 0
    for line in lines:
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            sequence = int(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-KEY:"):
            attrs = _attributes(line.split(":", 1)[1])
            method = attrs.get("METHOD", "NONE").upper()
            if method == "NONE":
                key = None
            elif method == "AES-128":
                if not attrs.get("URI"):
                    raise UnsupportedSource("HLS playlist has an encryption key without URI")
                iv = _parse_iv(attrs["IV"]) if attrs.get("IV") else None
                key = _Key(method, urljoin(base, attrs["URI"]), iv)
            else:
                raise UnsupportedSource(f"HLS encryption {method} is not supported")
        elif line.startswith("#EXT-X-MAP:"):
            attrs = _attributes(line.split(":", 1)[1])
            if "BYTERANGE" in attrs:
                raise UnsupportedSource("HLS init segments with byte ranges are not supported")
            init_uri = urljoin(base, attrs["URI"])
        elif line.startswith("#EXT-X-BYTERANGE:"):
            length_text, _, start_text = line.split(":", 1)[1].partition("@")
            start = int(start_text) if start_text else next_range_start
            byte_range = (start, int(length_text))
            next_range_start = start + int(length_text)
        elif not line.startswith("#"):
            segments.append(_Segment(urljoin(base, line), sequence, key, init_uri, byte_range))
            if len(segments) > _MAX_SEGMENTS:
                raise UnsupportedSource("HLS playlist lists too many segments")
            sequence += 1
            byte_range = None
    if not segments:
        raise UnsupportedSource("HLS playlist lists no segments")
    return segments


class _HLSDownload:
    """An HLS stream: playlists parsed here, every segment fetched through the guard."""

    def __init__(self, client: GuardedSession, policy: SourcePolicy, progress: _Progress) -> None:
        self._client = client
        self._policy = policy
        self._progress = progress
        self._keys: dict[str, bytes] = {}

    def run(self, url: str, dest: Path) -> DownloadResult:
        text, final_url = self._fetch_playlist(url)
        return self._run_playlist(text, final_url, dest)

    def _run_playlist(self, text: str, base: str, dest: Path) -> DownloadResult:
        lines = _playlist_lines(text)
        if any(line.startswith("#EXT-X-STREAM-INF:") for line in lines):
            media_url = _choose_media_playlist(lines, base)
            text, base = self._fetch_playlist(media_url)
            lines = _playlist_lines(text)
            if any(line.startswith("#EXT-X-STREAM-INF:") for line in lines):
                raise UnsupportedSource("HLS playlist nests master playlists")
        segments = _parse_media(lines, base)
        written = self._write_segments(segments, dest)
        return DownloadResult(
            size_bytes=written, content_type="application/vnd.apple.mpegurl", kind="hls"
        )

    def _fetch_playlist(self, url: str) -> tuple[str, str]:
        """The playlist's text and its final URL (the base of relative entries)."""

        def attempt() -> tuple[str, str]:
            with _open(self._client, url, self._policy) as (response, final_url):
                media_type = _media_type(response)
                if media_type and not (_is_media_type(media_type) or media_type == "text/plain"):
                    raise NotMediaSource("source is not a video")
                return _read_playlist_body(response, _display_host(final_url)), final_url

        return _with_retries(self._policy, attempt)

    def _write_segments(self, segments: list[_Segment], dest: Path) -> int:
        current_init: str | None = None
        with open(dest, "wb") as out:
            for index, segment in enumerate(segments):
                if segment.init_uri and segment.init_uri != current_init:
                    # fMP4: the init segment (moov) goes first, and again if it changes.
                    self._append(out, segment.init_uri, None)
                    current_init = segment.init_uri
                self._append(out, segment.uri, segment)
                self._progress(index + 1, len(segments))
            return out.tell()

    def _append(self, out: BinaryIO, url: str, segment: _Segment | None) -> None:
        """Fetch one segment (retried whole) and append it, decrypted, to ``out``."""
        start = out.tell()
        byte_range = segment.byte_range if segment else None
        headers = {"Range": f"bytes={byte_range[0]}-{sum(byte_range) - 1}"} if byte_range else None

        def attempt() -> None:
            out.seek(start)
            out.truncate()
            decryptor = self._decryptor(segment) if segment and segment.key else None
            with _open(self._client, url, self._policy, headers) as (response, final_url):
                host = _display_host(final_url)
                media_type = _media_type(response)
                if media_type and not _is_media_type(media_type):
                    raise NotMediaSource("source is not a video")
                if byte_range and response.status_code != 206:
                    raise UnsupportedSource(f"{host} does not serve byte ranges")
                try:
                    for chunk in response.iter_raw():
                        # Bytes on disk after decryption differ by padding only: good enough.
                        if out.tell() + len(chunk) > self._policy.max_bytes:
                            raise SourceTooLarge(_too_large_message(self._policy))
                        out.write(decryptor.update(chunk) if decryptor else chunk)
                except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError):
                    raise TransientSourceError(f"connection to {host} was lost") from None
            if decryptor:
                out.write(decryptor.finalize())

        _with_retries(self._policy, attempt)

    def _decryptor(self, segment: _Segment) -> _SegmentDecryptor:
        assert segment.key is not None and segment.key.uri is not None
        key = self._keys.get(segment.key.uri)
        if key is None:
            key = self._fetch_key(segment.key.uri)
            self._keys[segment.key.uri] = key
        # Without an IV attribute, the IV is the media sequence number, big-endian (RFC 8216).
        iv = segment.key.iv or segment.sequence.to_bytes(16, "big")
        return _SegmentDecryptor(key, iv)

    def _fetch_key(self, url: str) -> bytes:
        def attempt() -> bytes:
            with _open(self._client, url, self._policy) as (response, _final_url):
                body = b""
                for chunk in response.iter_raw(1024):
                    body += chunk
                    if len(body) > _AES_KEY_BYTES:
                        break
            if len(body) != _AES_KEY_BYTES:
                raise UnsupportedSource("HLS encryption key is not a 16-byte AES key")
            return body

        return _with_retries(self._policy, attempt)


class _SegmentDecryptor:
    """AES-128-CBC with PKCS7 padding, streamed chunk by chunk."""

    def __init__(self, key: bytes, iv: bytes) -> None:
        self._cipher = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        self._unpadder = padding.PKCS7(128).unpadder()

    def update(self, data: bytes) -> bytes:
        return self._unpadder.update(self._cipher.update(data))

    def finalize(self) -> bytes:
        try:
            return self._unpadder.update(self._cipher.finalize()) + self._unpadder.finalize()
        except ValueError:
            raise UnsupportedSource("HLS segment could not be decrypted (wrong key?)") from None


def _read_playlist_body(response: httpx.Response, host: str) -> str:
    body = bytearray()
    try:
        for chunk in response.iter_raw(64 * 1024):
            body += chunk
            if len(body) > _MAX_PLAYLIST_BYTES:
                raise UnsupportedSource("HLS playlist is too large")
    except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError):
        raise TransientSourceError(f"connection to {host} was lost") from None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise NotMediaSource("source is not a video") from None
