"""Conventions every API route follows: error bodies, 404s, slashes, health probes."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_an_unknown_api_route_is_a_json_404(alice_client):
    response = alice_client.get("/api/no-such-thing")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_an_unknown_api_route_is_a_json_404_even_without_a_token():
    response = Client().get("/api/no-such-thing")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.parametrize("method", ["get", "post", "delete"])
@pytest.mark.parametrize("path", ["/api/no-such-thing", "/api/no/such/thing/", "/api"])
def test_an_unknown_api_route_is_a_json_404_under_debug_too(settings, method, path):
    # Django skips handler404 under DEBUG and shows its HTML page, which a newcomer's
    # client (make run has DEBUG on) cannot read; a POST must not meet the CSRF 403 either.
    settings.DEBUG = True

    response = getattr(Client(), method)(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.parametrize("path", ["/no-such-page", "/apiary"])
def test_an_unknown_path_outside_the_api_is_djangos_404(settings, path):
    settings.DEBUG = True

    response = Client().get(path)

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/api/courses", "/api/courses/"])
def test_post_works_with_and_without_a_trailing_slash(alice_client, path):
    response = alice_client.post(path, {"code": "CSC 173", "title": "x"}, format="json")

    assert response.status_code in (200, 201)


def test_an_unsupported_method_is_a_json_405(alice_client):
    response = alice_client.patch("/api/courses", {}, format="json")

    assert response.status_code == 405
    assert response.json() == {
        "detail": 'Method "PATCH" not allowed.',
        "code": "method_not_allowed",
    }


def test_an_unsupported_body_type_is_a_json_415(alice_client):
    response = alice_client.post("/api/courses", b"code=x", content_type="text/plain")

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


@pytest.mark.parametrize("accept", ["text/html", "application/xml", ""])
def test_a_type_the_api_does_not_give_is_a_json_406(alice_client, accept):
    response = alice_client.get("/api/courses", HTTP_ACCEPT=accept)

    assert response.status_code == 406
    assert response.json()["code"] == "not_acceptable"


def test_healthz_answers_without_a_token():
    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_database_storage_and_broker(settings):
    response = Client().get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "storage": "ok", "broker": "ok"},
    }


def test_readyz_leaves_no_probe_file_in_storage(settings):
    Client().get("/readyz")

    leftovers = [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()]
    assert leftovers == []


def test_readyz_is_503_when_storage_is_not_writable(settings, tmp_path):
    # A file where the storage root's parent directory should be: nothing can be written.
    (tmp_path / "missing-parent-file").write_text("not a directory")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "missing-parent-file" / "media")},
        },
    }

    response = Client().get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["storage"] == "failed"
    assert response.json()["status"] == "unavailable"


def test_readyz_is_503_when_the_redis_broker_is_down(settings):
    settings.TASK_BROKER = "redis"
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    response = Client().get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "storage": "ok", "broker": "failed"}


def test_readyz_reaches_a_running_redis_broker(settings):
    settings.TASK_BROKER = "redis"
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"

    assert Client().get("/readyz").status_code == 200


def test_a_crash_inside_an_api_view_is_a_json_500_without_a_traceback(alice_client, monkeypatch):
    from courses import selectors

    def explode(**kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(selectors, "course_list_for_user", explode)
    alice_client.raise_request_exception = False

    response = alice_client.get("/api/courses")

    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error.", "code": "server_error"}
    assert b"secret internal detail" not in response.content
    assert b"Traceback" not in response.content


def test_no_domain_error_is_named_like_a_drf_exception():
    """``except NotFound`` must not mean one class in a view and another in a service."""
    import inspect

    from rest_framework import exceptions as drf

    from core import exceptions as domain

    domain_names = {
        name
        for name, value in vars(domain).items()
        if inspect.isclass(value) and issubclass(value, domain.DomainError)
    }
    drf_names = {name for name, value in vars(drf).items() if inspect.isclass(value)}

    assert domain_names, "the domain error tree is empty"
    assert not domain_names & drf_names
