"""The OpenAPI document and the Swagger UI."""

import io
import re

import pytest
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_schema_builds_and_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"

    # --fail-on-warn turns any warning (unnamed serializer, untyped field...) into an error.
    call_command(
        "spectacular", "--fail-on-warn", "--validate", "--file", str(out), stderr=io.StringIO()
    )

    assert out.read_text().startswith("openapi: 3")


def test_the_schema_is_served_without_a_token_and_lists_every_route():
    response = Client().get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    assert {
        "/api/courses",
        "/api/courses/catalog",
        "/api/courses/{id}",
        "/api/courses/{id}/enrollment",
    } <= set(paths)
    assert set(paths["/api/courses"]["post"]["responses"]) == {"200", "201", "400", "401"}
    assert set(paths["/api/courses/{id}/enrollment"]["put"]["responses"]) == {
        "200",
        "201",
        "401",
        "404",
    }
    assert schema["components"]["securitySchemes"]["ClerkSession"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }


def test_every_operation_declares_401_and_the_bearer_scheme():
    schema = Client().get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    for path, item in schema["paths"].items():
        for method, operation in item.items():
            assert "401" in operation["responses"], f"{method} {path}"
            assert operation["security"] == [{"ClerkSession": []}], f"{method} {path}"


def test_the_docs_page_uses_only_local_static_files():
    response = Client().get("/api/docs")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources, "the page loads its scripts and styles"
    for source in sources:
        assert source.startswith("/"), f"{source} is not served by this server"
        assert not source.startswith("//")


def test_the_docs_static_files_are_served():
    html = Client().get("/api/docs").content.decode()
    script = next(s for s in re.findall(r'src="([^"]+)"', html) if "swagger-ui-bundle" in s)

    response = Client().get(script)

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/api/lectures/{id}/audio", "audio/mp4"), ("/api/documents/{id}/file", "application/pdf")],
)
def test_the_file_routes_document_every_answer_of_a_stored_file(path, content_type):
    # Found by the API fuzzer: the audio route answered 304 (If-None-Match) undocumented.
    schema = Client().get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"][path]["get"]

    responses = operation["responses"]
    assert {"200", "206", "304", "404", "416", "503"} <= set(responses)
    for status in ("200", "206"):
        assert responses[status]["content"] == {
            content_type: {"schema": {"type": "string", "format": "binary"}}
        }
    assert {"Range", "If-None-Match"} <= {p["name"] for p in operation["parameters"]}


def test_a_400_documents_its_field_errors():
    schema = Client().get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    body = schema["components"]["schemas"]["ValidationError"]

    assert body["properties"]["errors"] == {
        "type": "object",
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
        "description": body["properties"]["errors"]["description"],
    }
    assert body["required"] == ["code", "detail"]
