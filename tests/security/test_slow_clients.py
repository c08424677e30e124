"""Slow clients against the serving stack the Procfile runs (``deploy/web.py``: nginx in
front of gunicorn): 50 connections stalled mid-headers and mid-body do not stop anyone
else, and are dropped after the read timeout."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import httpx
import pytest

from tests.auth import ISSUER, session_claims, sign
from tests.web_process import NGINX_INSTALLED, web_process

pytestmark = [
    pytest.mark.e2e,
    # The server's rows (a user signing in) are committed, and emptied after each test.
    pytest.mark.django_db(transaction=True),
    # CI installs nginx (.ci/run), so there a missing nginx fails instead of skipping.
    pytest.mark.skipif(
        not NGINX_INSTALLED and not os.environ.get("CI"),
        reason="needs Debian's nginx (apt-get install nginx; .ci/run does it)",
    ),
]

READ_TIMEOUT_SECONDS = 2
STALLED = 50


@pytest.fixture(scope="module")
def web(django_db_setup, clerk_key, tmp_path_factory) -> Iterator[str]:
    """``python deploy/web.py`` as the Procfile starts it, on a loopback port: one for the
    module's tests (each starts in 4-7 s, its system checks and two gunicorn workers)."""
    runtime = tmp_path_factory.mktemp("web")
    with web_process(
        runtime / "web.log",
        CLERK_JWT_KEY=clerk_key.public_pem,
        CLERK_ISSUER=ISSUER,
        MEDIA_ROOT=str(runtime / "media"),
        WEB_CONCURRENCY="2",
        WEB_CLIENT_TIMEOUT_SECONDS=str(READ_TIMEOUT_SECONDS),
    ) as url:
        yield url


def _stall(port: int, *, mid_body: bool) -> socket.socket:
    """A connection that sends part of a request and then nothing."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    if mid_body:
        sock.sendall(
            b"POST /api/documents/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: multipart/form-data; boundary=x\r\n"
            b"Content-Length: 1000000\r\n\r\n--x\r\n" + b"a" * 1000
        )
    else:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    return sock


def _still_open(sock: socket.socket) -> bool:
    """True while the server has neither answered nor closed the connection."""
    sock.setblocking(False)
    try:
        sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.setblocking(True)
    return False  # an answer (a 408) or the end of the connection


def _closed_by_server(sock: socket.socket, *, within: float) -> bool:
    """True when the server ends the connection (possibly after a 408) within ``within``."""
    sock.settimeout(within)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


def test_fifty_stalled_connections_do_not_stop_other_clients_and_are_dropped(web, clerk_key):
    port = int(web.rsplit(":", 1)[1])
    stalled = [_stall(port, mid_body=i % 2 == 1) for i in range(STALLED)]
    try:
        token = sign(session_claims(), clerk_key)
        answered_while_stalled: list[bool] = []
        with httpx.Client(base_url=web, timeout=10.0) as client:
            for _ in range(5):
                assert client.get("/healthz").status_code == 200
                courses = client.get("/api/courses", headers={"Authorization": f"Bearer {token}"})
                assert courses.status_code == 200
                assert courses.json()["count"] == 0
                if not answered_while_stalled:
                    answered_while_stalled = [_still_open(sock) for sock in stalled]

        # Others were answered while the stalled connections were held, not once they went.
        assert all(answered_while_stalled)

        still_open = [
            sock for sock in stalled if not _closed_by_server(sock, within=READ_TIMEOUT_SECONDS + 8)
        ]
        assert still_open == []
    finally:
        for sock in stalled:
            sock.close()


def test_a_body_over_the_limit_is_refused_with_the_json_error_body(web, settings):
    too_large = settings.WEB_MAX_BODY_BYTES + 2 * 1024 * 1024
    with socket.create_connection(("127.0.0.1", int(web.rsplit(":", 1)[1])), timeout=10) as sock:
        sock.sendall(
            b"POST /api/documents/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: multipart/form-data; boundary=x\r\n"
            + f"Content-Length: {too_large}\r\n\r\n".encode()
        )
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert b"application/json" in head
    assert body.strip() == b'{"detail": "The request body is too large.", "code": "too_large"}'
