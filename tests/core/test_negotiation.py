"""Content negotiation (``core.negotiation``): what a client asks for in ``Accept`` and
``?format=`` decides the answer's type, the shortcut for the common cases included."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
def test_what_nearly_every_client_asks_gets_json(alice_client, accept):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}

    response = alice_client.get("/api/courses", **headers)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["results"] == []


def test_a_json_media_type_with_parameters_is_still_negotiated(alice_client):
    response = alice_client.get("/api/courses", HTTP_ACCEPT="application/json; indent=4")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.content.startswith(b'{\n    "')


@pytest.mark.parametrize("accept", ["text/html", "application/xml", ""])
def test_a_type_the_api_does_not_give_is_406(alice_client, accept):
    response = alice_client.get("/api/courses", HTTP_ACCEPT=accept)

    assert response.status_code == 406
    assert response.json()["code"] == "not_acceptable"


def test_a_format_asked_for_in_the_query_is_negotiated(alice_client):
    assert alice_client.get("/api/courses?format=json").status_code == 200
    assert alice_client.get("/api/courses?format=html", HTTP_ACCEPT="*/*").status_code == 404


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        (None, "application/vnd.oai.openapi"),
        ("*/*", "application/vnd.oai.openapi"),
        ("application/json", "application/json"),
        ("application/vnd.oai.openapi+json", "application/vnd.oai.openapi+json"),
    ],
)
def test_a_view_with_several_renderers_gives_the_one_asked_for(api_client, accept, content_type):
    """The schema has four renderers, YAML first: only what asks for anything gets the
    first; a type that another renderer gives gets that one."""
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}

    response = api_client.get("/api/schema", **headers)

    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == content_type
    if "json" in content_type:
        assert json.loads(response.content)["info"]["title"] == "StudyBuddy API"
    else:
        assert response.content.startswith(b"openapi: ")
