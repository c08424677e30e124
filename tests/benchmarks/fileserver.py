"""A static file server on 127.0.0.1 for the benchmark's recordings (a CDN stand-in).

``python -m tests.benchmarks.fileserver ROOT`` prints its port and serves ``ROOT`` with
keep-alive and ``sendfile``, so neither the worker nor ``curl`` waits on Python copying
bytes, and answers ``Range`` requests (with ``ETag`` and ``If-Range``) as a CDN does. It
runs in its own process: the benchmark's sampling threads never slow it down.
``GET /_bytes`` answers the body bytes sent per directory since the last
``GET /_bytes?reset=1`` (JSON), to tell how much of which HLS rendition a job fetched.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/_bytes":
            self._answer_counts()
            return
        relative = unquote(urlsplit(self.path).path).lstrip("/")
        path = (self.server.root / relative).resolve()
        if self.server.root not in path.parents or not path.is_file():
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        stat = path.stat()
        size = stat.st_size
        etag = f'"{stat.st_mtime_ns:x}-{size:x}"'
        start, end = self._asked_range(size, etag)
        self.send_response(206 if self._ranged else 200)
        self.send_header("Content-Type", CONTENT_TYPES.get(path.suffix, "application/octet-stream"))
        self.send_header("Content-Length", str(end + 1 - start))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", etag)
        if self._ranged:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        self.wfile.flush()
        with path.open("rb") as handle:
            try:
                sent = self.connection.sendfile(handle, start, end + 1 - start)
            except OSError:  # the client hung up (a reader that moved elsewhere)
                self.close_connection = True
                return
        self.server.count(relative.rpartition("/")[0], sent)

    _ranged = False

    def _asked_range(self, size: int, etag: str) -> tuple[int, int]:
        """The byte range to send, as a CDN answers one ``bytes=A-`` or ``bytes=A-B``
        (with ``If-Range``); the whole file otherwise."""
        self._ranged = False
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", "").strip())
        if_range = self.headers.get("If-Range")
        if not match or int(match.group(1)) >= size or (if_range and if_range != etag):
            return 0, size - 1
        self._ranged = True
        start = int(match.group(1))
        end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
        return start, max(start, end)

    def _answer_counts(self) -> None:
        body = json.dumps(self.server.counts(reset="reset=1" in self.path)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root.resolve()
        self._bytes: dict[str, int] = {}
        self._lock = threading.Lock()

    def count(self, directory: str, size: int) -> None:
        with self._lock:
            self._bytes[directory] = self._bytes.get(directory, 0) + size

    def counts(self, *, reset: bool) -> dict[str, int]:
        with self._lock:
            counts = dict(self._bytes)
            if reset:
                self._bytes.clear()
        return counts


def main() -> None:
    server = _Server(Path(sys.argv[1]))
    print(server.server_address[1], flush=True)
    os.environ.pop("DJANGO_SETTINGS_MODULE", None)
    server.serve_forever()


if __name__ == "__main__":
    main()
