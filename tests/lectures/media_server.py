"""A real HTTP server on 127.0.0.1 that serves test media and misbehaves on demand.

``/files/<path>`` serves files under the media root (with ``Range`` support, query strings
ignored). Tests register misbehaving routes with :meth:`MediaServer.route`, each under a
fresh path so state never leaks between tests; every route counts its requests.
"""

from __future__ import annotations

import re
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".m4a": "audio/mp4",
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".m4s": "video/iso.segment",
    ".panobf2": "application/octet-stream",
    ".enc": "application/octet-stream",
    ".bin": "application/octet-stream",
}

Behaviour = Callable[["Handler", "Route"], None]


@dataclass
class Route:
    """A misbehaving path: its behaviour, and what it has seen."""

    behaviour: Behaviour
    requests: int = 0
    range_headers: list[str | None] = field(default_factory=list)
    if_range_headers: list[str | None] = field(default_factory=list)
    host_headers: list[str | None] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Handler(BaseHTTPRequestHandler):
    server: MediaHTTPServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's algorithm and
        # delayed ACKs add ~40 ms to every keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: pytest shows failures, not access logs."""

    head_only = False

    def do_HEAD(self) -> None:
        """As GET, without the body; a route's HEAD is not counted among its requests."""
        self.head_only = True
        try:
            path = urlsplit(self.path).path
            route = self.server.routes.get(path)
            if route is not None:
                route.behaviour(self, route)
            elif path.startswith("/files/"):
                self.send_file(self.server.root / path.removeprefix("/files/"))
            else:
                self.send_body(404, b"not found", "text/plain")
        finally:
            self.head_only = False

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        route = self.server.routes.get(path)
        if route is not None:
            with route.lock:
                route.requests += 1
                route.range_headers.append(self.headers.get("Range"))
                route.if_range_headers.append(self.headers.get("If-Range"))
                route.host_headers.append(self.headers.get("Host"))
            route.behaviour(self, route)
        elif path.startswith("/files/"):
            self.send_file(self.server.root / path.removeprefix("/files/"))
        else:
            self.send_body(404, b"not found", "text/plain")

    # -- building blocks for behaviours

    def send_body(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        if not self.head_only:
            # Counted before it is written: a client that has read the whole body may look
            # at the count before this thread runs again.
            self.server.count_bytes(urlsplit(self.path).path, len(body))
            self.wfile.write(body)

    def send_file(self, path: Path, content_type: str | None = None) -> None:
        """Serve a file whole, or the range asked for (206)."""
        resolved = path.resolve()
        if not resolved.is_file() or self.server.root not in resolved.parents:
            self.send_body(404, b"not found", "text/plain")
            return
        data = resolved.read_bytes()
        content_type = content_type or CONTENT_TYPES.get(
            resolved.suffix, "application/octet-stream"
        )
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if match:
            start = int(match.group(1))
            end = int(match.group(2)) if match.group(2) else len(data) - 1
            self.send_body(
                206,
                data[start : end + 1],
                content_type,
                Content_Range=f"bytes {start}-{end}/{len(data)}",
                ETag='"fixture"',
            )
        else:
            self.send_body(200, data, content_type, ETag='"fixture"')

    def wait_for_hang_up(self, limit: float) -> None:
        """Send nothing more until the client closes its end (or ``limit`` seconds pass)."""
        self.connection.settimeout(limit)
        try:
            while self.connection.recv(65536):
                pass
        except OSError:
            pass

    def send_partial_then_close(self, data: bytes, content_type: str, stall: float = 0) -> None:
        """Promise the whole body, send half, (optionally stall), then drop the connection."""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("ETag", '"fixture"')
        self.end_headers()
        if self.head_only:
            return
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        if stall:
            time.sleep(stall)
        self.close_connection = True


class MediaHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path, host: str = "127.0.0.1") -> None:
        super().__init__((host, 0), Handler)
        self.root = root.resolve()
        self.routes: dict[str, Route] = {}
        self.bytes_sent: dict[str, int] = {}  # body bytes per path (send_body only)
        self._count_lock = threading.Lock()

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up mid-answer (a reader that moved elsewhere resets its
        connection) is ordinary here; anything else is printed as usual."""
        if isinstance(sys.exc_info()[1], ConnectionResetError | BrokenPipeError):
            return
        super().handle_error(request, client_address)

    def count_bytes(self, path: str, size: int) -> None:
        with self._count_lock:
            self.bytes_sent[path] = self.bytes_sent.get(path, 0) + size


class MediaServer:
    """The running server, as the tests see it."""

    def __init__(self, root: Path, host: str = "127.0.0.1") -> None:
        self._server = MediaHTTPServer(root, host)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self.root = root
        self.port = self._server.server_address[1]
        self.base_url = f"http://{host}:{self.port}"

    def start(self) -> MediaServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def file_url(self, relative_path: str) -> str:
        return f"{self.base_url}/files/{relative_path}"

    def bytes_sent_under(self, relative_dir: str) -> int:
        """Body bytes served so far from ``/files/<relative_dir>/...``."""
        prefix = f"/files/{relative_dir.strip('/')}/"
        with self._server._count_lock:
            return sum(n for path, n in self._server.bytes_sent.items() if path.startswith(prefix))

    def bytes_sent_on(self, url: str) -> int:
        """Body bytes a route (by its URL) has sent so far, where its behaviour counts them."""
        with self._server._count_lock:
            return self._server.bytes_sent.get(urlsplit(url).path, 0)

    def reset_byte_counts(self) -> None:
        with self._server._count_lock:
            self._server.bytes_sent.clear()

    def route(self, behaviour: Behaviour, suffix: str = "") -> tuple[str, Route]:
        """Register ``behaviour`` under a fresh path; returns its URL and its :class:`Route`."""
        path = f"/r/{uuid.uuid4().hex}{suffix}"
        route = Route(behaviour)
        self._server.routes[path] = route
        return self.base_url + path, route


# -- behaviours: each returns a function of (handler, route)


def serve(path: Path, content_type: str | None = None) -> Behaviour:
    """Serve a file normally (with Range), optionally under another content type."""
    return lambda handler, _route: handler.send_file(path, content_type)


def fail_first(path: Path, status: int, times: int = 1, **headers: str) -> Behaviour:
    """Answer ``status`` to the first ``times`` requests, then serve the file."""

    def behaviour(handler: Handler, route: Route) -> None:
        if route.requests <= times:
            handler.send_body(status, b"try again later", "text/plain", **headers)
        else:
            handler.send_file(path)

    return behaviour


def stall_after(path: Path, sent: int, content_type: str = "video/mp2t") -> Behaviour:
    """Promise the whole file, send its first ``sent`` bytes, then nothing until the client
    hangs up (up to a minute)."""

    def behaviour(handler: Handler, _route: Route) -> None:
        data = path.read_bytes()
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data[:sent])
        handler.wfile.flush()
        handler.wait_for_hang_up(60)
        handler.close_connection = True

    return behaviour


def always(status: int, body: bytes = b"error", content_type: str = "text/plain") -> Behaviour:
    return lambda handler, _route: handler.send_body(status, body, content_type)


def drop_first(path: Path, stall: float = 0) -> Behaviour:
    """First request: half the body, then the connection drops (after ``stall`` seconds)."""

    def behaviour(handler: Handler, route: Route) -> None:
        if route.requests == 1:
            handler.send_partial_then_close(path.read_bytes(), "video/mp4", stall)
        else:
            handler.send_file(path)

    return behaviour


def drop_always(path: Path) -> Behaviour:
    """Half the body on the first request, nothing new after: no progress on resumes."""

    def behaviour(handler: Handler, route: Route) -> None:
        data = path.read_bytes()
        if route.requests == 1:
            handler.send_partial_then_close(data, "video/mp4")
        else:
            handler.send_body(503, b"busy", "text/plain")

    return behaviour


def ignore_range(path: Path, drop: bool = True) -> Behaviour:
    """Drops the first response halfway, then answers 200 (whole body) to Range requests."""

    def behaviour(handler: Handler, route: Route) -> None:
        data = path.read_bytes()
        if route.requests == 1 and drop:
            handler.send_partial_then_close(data, "video/mp4")
        else:
            handler.send_body(200, data, "video/mp4")

    return behaviour


def redirect(location: str, status: int = 302) -> Behaviour:
    return lambda handler, _route: handler.send_body(status, b"", "text/plain", Location=location)


def declared_length(length: int) -> Behaviour:
    """Promise a huge Content-Length (and send a little)."""

    def behaviour(handler: Handler, _route: Route) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "video/mp4")
        handler.send_header("Content-Length", str(length))
        handler.end_headers()
        handler.wfile.write(b"\0" * 1024)
        handler.close_connection = True

    return behaviour


def endless(chunk: int = 64 * 1024) -> Behaviour:
    """A body without Content-Length that never ends (until the client hangs up)."""

    def behaviour(handler: Handler, _route: Route) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "video/mp4")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        try:
            while True:
                handler.wfile.write(b"\0" * chunk)
        except OSError:
            return

    return behaviour


def zeros(length: int, chunk: int = 1024 * 1024) -> Behaviour:
    """A large body of zeros with a Content-Length, written in chunks."""

    def behaviour(handler: Handler, _route: Route) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "video/mp4")
        handler.send_header("Content-Length", str(length))
        handler.end_headers()
        block = bytes(chunk)
        for start in range(0, length, chunk):
            handler.wfile.write(block[: min(chunk, length - start)])

    return behaviour


def throttled(path: Path, seconds: float, content_type: str = "video/mp4") -> Behaviour:
    """Serve the file (honouring ``Range``) spread over about ``seconds``: a slow network."""

    def behaviour(handler: Handler, _route: Route) -> None:
        data = path.read_bytes()
        match = re.fullmatch(r"bytes=(\d+)-", handler.headers.get("Range", ""))
        start = int(match.group(1)) if match else 0
        handler.send_response(206 if match else 200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data) - start))
        if match:
            handler.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        handler.end_headers()
        steps = 50
        step = max(1, (len(data) - start) // steps + 1)
        try:
            for offset in range(start, len(data), step):
                handler.wfile.write(data[offset : offset + step])
                handler.wfile.flush()
                time.sleep(seconds / steps)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True

    return behaviour


def drip(length: int, *, every: float) -> Behaviour:
    """A body that promises ``length`` bytes and sends one every ``every`` seconds."""

    def behaviour(handler: Handler, _route: Route) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "video/mp4")
        handler.send_header("Content-Length", str(length))
        handler.end_headers()
        try:
            for _ in range(length):
                handler.wfile.write(b"\0")
                handler.wfile.flush()
                time.sleep(every)
        except OSError:
            return

    return behaviour


def _asked_range(handler: Handler, size: int, etag: str) -> int | None:
    """Where the asked range starts (RFC 9110 14.2), or ``None`` for the whole file: no
    ``Range``, or an ``If-Range`` naming another version than ``etag`` (13.1.5)."""
    match = re.fullmatch(r"bytes=(\d+)-", handler.headers.get("Range", ""))
    if not match or int(match.group(1)) >= size:
        return None
    if_range = handler.headers.get("If-Range")
    if if_range is not None and if_range != etag:
        return None
    return int(match.group(1))


def ranged(
    path: Path,
    *,
    drop_first_after: int | None = None,
    etag_after_first: str = '"v1"',
    wrong_range_after_first: bool = False,
    weak: bool = False,
    drip_every: float | None = None,
    stall_first_after: int | None = None,
    unavailable_from: int | None = None,
    no_validators: bool = False,
    content_type: str = "video/mp4",
) -> Behaviour:
    """Serve the file with ``Range`` (ETag ``"v1"``), misbehaving on demand: the first
    answer drops the connection after ``drop_first_after`` bytes, or sends
    ``stall_first_after`` bytes and then nothing until the client hangs up (up to a
    minute); later answers carry ``etag_after_first`` (a file replaced meanwhile: an
    ``If-Range`` for ``"v1"`` then gets the whole new file, 200) or start at the wrong
    offset; requests from the ``unavailable_from``-th on are answered 503. ``weak``: the
    tags are weak (``W/"v1"``), which an ``If-Range`` cannot name; ``no_validators``: no
    tag at all. ``drip_every``: the body goes out a byte at a time, one every so many
    seconds."""

    def behaviour(handler: Handler, route: Route) -> None:
        data = path.read_bytes()
        first = route.requests == 1
        if unavailable_from is not None and route.requests >= unavailable_from:
            handler.send_body(503, b"unavailable", "text/plain")
            return
        etag = ("W/" if weak else "") + ('"v1"' if first else etag_after_first)
        start = _asked_range(handler, len(data), etag)
        if not first and wrong_range_after_first and start is not None:
            start = 0  # answers bytes 0- whatever was asked
        body = data if start is None else data[start:]
        handler.send_response(200 if start is None else 206)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        if not no_validators:
            handler.send_header("ETag", etag)
        handler.send_header("Accept-Ranges", "bytes")
        if start is not None:
            handler.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        handler.end_headers()
        if first and drop_first_after is not None:
            handler.wfile.write(body[:drop_first_after])
            handler.wfile.flush()
            handler.close_connection = True
            return
        if first and stall_first_after is not None:
            handler.wfile.write(body[:stall_first_after])
            handler.wfile.flush()
            handler.wait_for_hang_up(60)
            handler.close_connection = True
            return
        # In blocks, each counted once written: a reader that moves elsewhere hangs up.
        step = 1 if drip_every else 64 * 1024
        try:
            for offset in range(0, len(body), step):
                block = body[offset : offset + step]
                handler.wfile.write(block)
                if drip_every:
                    handler.wfile.flush()
                    time.sleep(drip_every)
                handler.server.count_bytes(urlsplit(handler.path).path, len(block))
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True

    return behaviour
