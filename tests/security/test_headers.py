"""Response headers and cookies, read off the real server (gunicorn, DEBUG off).

No server version, ``nosniff``, framing denied, a referrer policy; CORS only for the SPA's
origins and only on /api/; session and CSRF cookies ``Secure`` when ``DEBUG`` is false.
"""

from __future__ import annotations

import re
import uuid
from http.cookies import SimpleCookie

import httpx
import pytest

from tests.factories import UserFactory
from tests.live_server import LiveServer

pytestmark = pytest.mark.django_db(transaction=True)

SPA = "https://app.studybuddy.example"
STRANGER = "https://attacker.example"
PAGES = {
    "api-401": "/api/courses",
    "api-404": "/api/no-such-route",
    "schema": "/api/schema",
    "docs": "/api/docs",
    "health": "/healthz",
    "admin-login": "/admin/login/",
    "html-404": "/no-such-page",
}


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, tmp_path_factory, clerk_key):
    env = {
        "DEBUG": "false",
        "CORS_ALLOWED_ORIGINS": SPA,
        "CLERK_JWT_KEY": clerk_key.public_pem,
        "MEDIA_ROOT": str(tmp_path_factory.mktemp("headers-media")),
    }
    with django_db_blocker.unblock():
        live = LiveServer(env, tmp_path_factory.mktemp("headers") / "gunicorn.log", workers=1)
        live.wait_ready()
    yield live
    live.stop()


def get(server: LiveServer, path: str, **headers: str) -> httpx.Response:
    return httpx.get(server.url + path, headers=headers, timeout=10)


def set_cookies(response: httpx.Response) -> dict[str, dict]:
    """Every ``Set-Cookie`` of the response, by name, with its attributes as sent."""
    cookies: dict[str, dict] = {}
    for header in response.headers.get_list("set-cookie"):
        parsed = SimpleCookie()
        parsed.load(header)
        for name, morsel in parsed.items():
            cookies[name] = {"value": morsel.value, "raw": header.lower()}
    return cookies


@pytest.mark.parametrize("path", PAGES.values(), ids=PAGES.keys())
def test_every_answer_carries_the_protective_headers_and_no_version(server, path):
    response = get(server, path)

    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert not re.search(r"\d", response.headers.get("Server", "")), response.headers["Server"]
    assert "X-Powered-By" not in response.headers


def test_an_api_error_is_json_without_a_debug_page(server):
    response = get(server, "/api/no-such-route")

    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_the_spa_origin_may_call_the_api_cross_origin(server):
    preflight = httpx.options(
        f"{server.url}/api/courses",
        headers={
            "Origin": SPA,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    actual = get(server, "/api/courses", Origin=SPA)

    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == SPA
    assert preflight.headers["Access-Control-Allow-Credentials"] == "true"
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"]
    assert actual.headers["Access-Control-Allow-Origin"] == SPA
    assert "Content-Disposition" in actual.headers["Access-Control-Expose-Headers"]


def test_the_spa_may_send_the_file_routes_range_and_conditional_headers(server):
    preflight = httpx.options(
        f"{server.url}/api/documents/{uuid.uuid4()}/file",
        headers={
            "Origin": SPA,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization, range, if-range, if-none-match",
        },
    )

    assert preflight.status_code == 200
    allowed = {h.strip() for h in preflight.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "range", "if-range", "if-match", "if-none-match"} <= allowed


@pytest.mark.parametrize(
    ("origin", "path"),
    [(STRANGER, "/api/courses"), ("null", "/api/courses"), (SPA, "/admin/login/")],
    ids=["another-origin", "null-origin", "not-the-api"],
)
def test_no_one_else_gets_cors_and_nothing_gets_a_wildcard(server, origin, path):
    preflight = httpx.options(
        server.url + path,
        headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
    )
    actual = get(server, path, Origin=origin)

    for response in (preflight, actual):
        assert "Access-Control-Allow-Origin" not in response.headers
        assert "Access-Control-Allow-Credentials" not in response.headers


def test_session_and_csrf_cookies_are_secure_when_debug_is_off(server):
    staff = UserFactory(is_staff=True, is_superuser=True)
    staff.set_password("correct horse battery staple")
    staff.save()
    page = get(server, "/admin/login/")
    csrf = set_cookies(page)["csrftoken"]

    login = httpx.post(
        f"{server.url}/admin/login/?next=/admin/",
        data={
            "username": staff.username,
            "password": "correct horse battery staple",
            "csrfmiddlewaretoken": csrf["value"],
        },
        # The cookie is Secure, so a client on plain HTTP would not send it back by itself.
        headers={"Cookie": f"csrftoken={csrf['value']}"},
    )
    session = set_cookies(login).get("sessionid")

    assert "; secure" in csrf["raw"]
    assert "samesite=lax" in csrf["raw"]
    assert login.status_code == 302, login.text[:500]
    assert session is not None
    assert "; secure" in session["raw"]
    assert "; httponly" in session["raw"]
    assert "samesite=lax" in session["raw"]


@pytest.fixture(scope="module")
def production_server(django_db_setup, django_db_blocker, tmp_path_factory, clerk_key):
    """The production settings module, behind what would be a TLS-terminating proxy."""
    env = {
        "DJANGO_SETTINGS_MODULE": "studybuddy.settings.production",
        "SECRET_KEY": "production-like-" + "k" * 50,
        "CLERK_JWT_KEY": clerk_key.public_pem,
        "MEDIA_ROOT": str(tmp_path_factory.mktemp("production-media")),
    }
    with django_db_blocker.unblock():
        live = LiveServer(env, tmp_path_factory.mktemp("prod") / "gunicorn.log", workers=1)
        live.wait_ready()
    yield live
    live.stop()


def test_production_redirects_plain_http_to_https_except_the_probes(production_server):
    plain = get(production_server, "/api/courses")
    probe = get(production_server, "/healthz")

    assert plain.status_code == 301
    assert plain.headers["Location"].startswith("https://")
    assert probe.status_code == 200


def test_production_sends_hsts_over_https(production_server):
    response = get(production_server, "/api/courses", **{"X-Forwarded-Proto": "https"})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
