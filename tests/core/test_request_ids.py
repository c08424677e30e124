"""X-Request-ID: the client's when well-formed, else a generated one, on every answer and
every line logged while answering; and the one access line per request."""

from __future__ import annotations

import logging
import re
import uuid

import pytest
from django.test import Client

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def crashing_courses(monkeypatch):
    """``GET /api/courses`` raises inside the view."""
    from courses import selectors

    def explode(**kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(selectors, "course_list_for_user", explode)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sent",
    ["b7e6c1d2-5f1a-4c3e-9a7b-2d4f6e8a0c1e", "x", "a" * 200, "client id with spaces = ok"],
    ids=["uuid", "one character", "200 characters", "spaces and equals"],
)
def test_a_well_formed_client_id_is_the_answers(sent, logs):
    response = Client().get("/healthz", HTTP_X_REQUEST_ID=sent)

    assert response.status_code == 200
    assert response["X-Request-ID"] == sent
    assert [line["request_id"] for line in logs.access_lines()] == [sent]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sent",
    ["a" * 201, "line\nbreak", "nul\x00", "tab\tinside", "", "café"],
    ids=["201 characters", "newline", "nul", "tab", "empty", "not ascii"],
)
def test_a_malformed_client_id_is_replaced_by_a_generated_one(sent, logs):
    response = Client().get("/healthz", HTTP_X_REQUEST_ID=sent)

    assert response.status_code == 200
    assert GENERATED.fullmatch(response["X-Request-ID"])
    assert [line["request_id"] for line in logs.access_lines()] == [response["X-Request-ID"]]


@pytest.mark.django_db
def test_each_request_without_an_id_gets_its_own():
    client = Client()

    ids = {client.get("/healthz")["X-Request-ID"] for _ in range(3)}

    assert len(ids) == 3
    assert all(GENERATED.fullmatch(i) for i in ids)


@pytest.fixture
def answers(alice_client, api_client, crashing_courses) -> dict:
    """How to get each kind of answer, with the id to send."""
    alice_client.raise_request_exception = False
    return {
        "200": (lambda h: Client().get("/healthz", **h), 200),
        "400 validation": (lambda h: alice_client.post("/api/lectures/download", {}, **h), 400),
        "401": (lambda h: api_client.get("/api/courses", **h), 401),
        "404 api": (lambda h: alice_client.get("/api/no-such-route", **h), 404),
        "404 object": (lambda h: alice_client.get(f"/api/lectures/{uuid.uuid4()}", **h), 404),
        "404 page": (lambda h: Client().get("/no-such-page", **h), 404),
        "405": (lambda h: alice_client.put("/api/me", {}, **h), 405),
        "500": (lambda h: alice_client.get("/api/courses", **h), 500),
        "admin login": (lambda h: Client().get("/admin/login/", **h), 200),
        "admin redirect": (lambda h: Client().get("/admin/", **h), 302),
    }


@pytest.mark.parametrize(
    "kind",
    [
        "200",
        "400 validation",
        "401",
        "404 api",
        "404 object",
        "404 page",
        "405",
        "500",
        "admin login",
        "admin redirect",
    ],
)
def test_every_kind_of_answer_carries_the_id_and_is_logged_once_with_it(kind, answers, logs):
    get, status = answers[kind]
    sent = f"answer-{kind}"

    response = get({"HTTP_X_REQUEST_ID": sent})

    assert response.status_code == status
    assert response["X-Request-ID"] == sent
    assert [(line["request_id"], line["status"]) for line in logs.access_lines()] == [
        (sent, status)
    ]


def test_the_access_line_names_the_route_template_never_the_path_or_query(alice_client, logs):
    lecture_id = uuid.uuid4()

    response = alice_client.get(
        f"/api/lectures/{lecture_id}/status?token=secret-in-the-query&page=2"
    )

    assert response.status_code == 404
    [line] = logs.access_lines()
    assert line["route"] == "/api/lectures/{pk}/status"
    assert re.fullmatch(r"GET /api/lectures/\{pk\}/status 404 \d+\.\d ms", line["message"])
    assert line["duration_ms"] >= 0
    assert str(lecture_id) not in line["message"]
    # Django's own "Not Found" line has the path, never the query string.
    assert "secret-in-the-query" not in logs.text()


def test_an_unrouted_path_is_logged_without_a_route(logs):
    response = Client().get("/no-such-page/with/a/name")

    assert response.status_code == 404
    [line] = logs.access_lines()
    assert line["route"] is None
    assert re.fullmatch(r"GET - 404 \d+\.\d ms", line["message"])


def test_the_crash_line_of_a_request_carries_its_id_route_and_traceback(
    alice_client, crashing_courses, logs
):
    alice_client.raise_request_exception = False

    response = alice_client.get("/api/courses", HTTP_X_REQUEST_ID="crash-1")

    assert response.status_code == 500
    [crash] = [line for line in logs.lines() if line["level"] == "ERROR"]
    assert (crash["logger"], crash["request_id"], crash["route"], crash["status"]) == (
        "django.request",
        "crash-1",
        "/api/courses",
        500,
    )
    assert crash["exception"].startswith("Traceback (most recent call last):")
    assert crash["exception"].endswith("RuntimeError: secret internal detail")


def test_djangos_line_for_a_4xx_logged_after_the_middleware_still_carries_the_id(logs):
    Client().get("/api/no-such-route", HTTP_X_REQUEST_ID="late-1")

    [warning] = [line for line in logs.lines() if line["logger"] == "django.request"]
    assert warning["message"] == "Not Found: /api/no-such-route"
    assert (warning["request_id"], warning["status"]) == ("late-1", 404)


@pytest.mark.django_db
def test_lines_logged_after_a_request_carry_no_id(logs):
    Client().get("/healthz", HTTP_X_REQUEST_ID="over-1")

    logging.getLogger("studybuddy").warning("after the request")

    assert logs.lines()[-1]["request_id"] is None
