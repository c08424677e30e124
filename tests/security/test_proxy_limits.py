"""Request heads of every size against the Procfile's web process (nginx in front of
gunicorn): whatever nginx takes, the app answers; whatever it refuses, it refuses with the
API's JSON error body, so no HTML page from nginx or gunicorn ever answers."""

from __future__ import annotations

import json
import re
import socket

import httpx

from tests.security import test_slow_clients as slow_clients

pytestmark = slow_clients.pytestmark
web = slow_clients.web

# gunicorn's defaults (limit_request_line 4094, limit_request_field_size 8190,
# limit_request_fields 100) are exceeded by all of these, nginx's buffers (4 of 16 KiB) by
# none: the app answers each one, here with its 401 for a request without a token.
INSIDE_NGINX = {
    "request line of 5,000 bytes": b"GET /api/courses?q=" + b"a" * 4972 + b" HTTP/1.1\r\n",
    "request line of 16,382 bytes": b"GET /api/courses?q=" + b"a" * 16354 + b" HTTP/1.1\r\n",
    "header of 9,000 bytes": b"GET /api/courses HTTP/1.1\r\nX-Big: " + b"a" * 8993 + b"\r\n",
    # nginx forwards it as "X-Big: …", one byte longer than it read.
    "header of 16,382 bytes without a space": (
        b"GET /api/courses HTTP/1.1\r\nX-Big:" + b"a" * 16376 + b"\r\n"
    ),
    # nginx joins them into one header of 45,000 bytes and more.
    "three X-Forwarded-For of 15,000 bytes": b"GET /api/courses HTTP/1.1\r\n"
    + b"".join(b"X-Forwarded-For: " + b"1" * 15000 + b"\r\n" for _ in range(3)),
    "120 headers": b"GET /api/courses HTTP/1.1\r\n"
    + b"".join(b"X-Header-%d: v\r\n" % i for i in range(120)),
    "990 headers": b"GET /api/courses HTTP/1.1\r\n" + b"a: v\r\n" * 990,
}

OVER_NGINX = {
    "request line of 20,000 bytes": (
        b"GET /api/courses?q=" + b"a" * 19972 + b" HTTP/1.1\r\n",
        414,
        {"detail": "The request line is too long.", "code": "uri_too_long"},
    ),
    "header of 20,000 bytes": (
        b"GET /api/courses HTTP/1.1\r\nX-Big: " + b"a" * 19993 + b"\r\n",
        431,
        {"detail": "The request headers are too large.", "code": "headers_too_large"},
    ),
    "five headers of 15,000 bytes": (
        b"GET /api/courses HTTP/1.1\r\n"
        + b"".join(b"X-Big-%d: " % i + b"a" * 15000 + b"\r\n" for i in range(5)),
        431,
        {"detail": "The request headers are too large.", "code": "headers_too_large"},
    ),
    "20,000 headers, 80,000 bytes": (
        b"GET /api/courses HTTP/1.1\r\n" + b"a:\r\n" * 20000,
        431,
        {"detail": "The request headers are too large.", "code": "headers_too_large"},
    ),
}


def _answer(web: str, head: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send a request's head as raw bytes; the status, headers (lower-case names) and body
    of the answer."""
    port = int(web.rsplit(":", 1)[1])
    request_line, _, headers = head.partition(b"\r\n")
    raw = request_line + b"\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + headers + b"\r\n"
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
    head_bytes, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head_bytes.decode("latin-1").split("\r\n")
    answer_headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in header_lines)
    }
    return int(status_line.split(" ")[1]), answer_headers, body


def _send(web: str, head: bytes) -> tuple[int, str, bytes]:
    """Send a request's head as raw bytes; the status, Content-Type and body of the answer."""
    status, headers, body = _answer(web, head)
    return status, headers.get("content-type", ""), body


def _json_error(body: bytes) -> dict | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) and {"detail", "code"} <= parsed.keys() else None


def test_heads_over_gunicorns_defaults_but_inside_nginxs_reach_the_app(web):
    answers = {}
    for name, head in INSIDE_NGINX.items():
        status, content_type, body = _send(web, head)
        error = _json_error(body)
        answers[name] = (status, content_type, error and error["code"])

    assert answers == dict.fromkeys(INSIDE_NGINX, (401, "application/json", "not_authenticated"))


def test_heads_over_nginxs_buffers_are_refused_with_the_json_error_body(web):
    answers = {}
    for name, (head, _, _) in OVER_NGINX.items():
        status, content_type, body = _send(web, head)
        answers[name] = (status, content_type, _json_error(body))

    assert answers == {
        name: (status, "application/json", error) for name, (_, status, error) in OVER_NGINX.items()
    }


def test_a_request_line_nginx_cannot_read_is_the_json_bad_request(web):
    status, content_type, body = _send(web, b"GET /api/cou rses x HTTP/1.1\r\n")

    assert (status, content_type) == (400, "application/json")
    assert json.loads(body) == {"detail": "Malformed request.", "code": "bad_request"}


def test_a_long_query_string_to_healthz_is_served(web):
    status, content_type, body = _send(web, b"GET /healthz?q=" + b"a" * 5000 + b" HTTP/1.1\r\n")

    assert (status, content_type) == (200, "application/json")
    assert json.loads(body) == {"status": "ok"}


def test_an_http_version_nginx_does_not_speak_is_the_json_error_body(web):
    status, content_type, body = _send(web, b"GET /api/courses HTTP/9.9\r\n")

    assert (status, content_type) == (505, "application/json")
    assert json.loads(body)["code"] == "http_version_not_supported"


# --- Request ids ---------------------------------------------------------------------------


def test_a_clients_request_id_goes_through_nginx_and_comes_back_once(web):
    answer = httpx.get(f"{web}/healthz", headers={"X-Request-ID": "client-7"}, timeout=10)

    assert answer.status_code == 200
    assert answer.headers.get_list("x-request-id") == ["client-7"]


def test_nginx_replaces_a_malformed_request_id_with_its_own(web):
    answer = httpx.get(f"{web}/healthz", headers={"X-Request-ID": "a" * 201}, timeout=10)

    [request_id] = answer.headers.get_list("x-request-id")
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)


def test_nginxs_own_refusals_carry_a_request_id(web):
    too_large = (
        b"POST /api/documents/upload HTTP/1.1\r\nX-Request-ID: big-upload-1\r\n"
        b"Content-Length: 99999999999\r\n"
    )
    status, headers, _ = _answer(web, too_large)
    assert (status, headers["x-request-id"]) == (413, "big-upload-1")

    head, status, _ = OVER_NGINX["request line of 20,000 bytes"]
    refused, headers, _ = _answer(web, head)
    assert refused == status
    assert re.fullmatch(r"[0-9a-f]{32}", headers["x-request-id"])
