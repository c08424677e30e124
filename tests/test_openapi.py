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


# Every route of the contract with the status codes it names.
CONTRACT = {
    ("get", "/api/courses"): {"200"},
    ("post", "/api/courses"): {"200", "201", "400"},
    ("get", "/api/courses/catalog"): {"200"},
    ("get", "/api/courses/{id}"): {"200", "404"},
    ("put", "/api/courses/{id}/enrollment"): {"200", "201", "404"},
    ("delete", "/api/courses/{id}/enrollment"): {"204", "404"},
    ("post", "/api/lectures/download"): {"200", "202", "400", "429"},
    ("post", "/api/lectures/upload"): {"200", "202", "400", "413", "415", "429"},
    ("get", "/api/lectures"): {"200"},
    ("get", "/api/lectures/{id}"): {"200", "304", "404"},
    ("get", "/api/lectures/{id}/status"): {"200", "304", "404"},
    ("get", "/api/lectures/{id}/audio"): {"200", "206", "404", "409"},
    ("post", "/api/lectures/{id}/retry"): {"202", "404", "409"},
    ("delete", "/api/lectures/{id}"): {"204", "404"},
    # transcripts
    ("get", "/api/lectures/{id}/transcript"): {"200", "304", "400", "404", "409"},
    ("post", "/api/lectures/{id}/transcript"): {"202", "404", "409"},
    ("put", "/api/lectures/{id}/transcript"): {"200", "400", "404", "409", "413", "415"},
    ("post", "/api/documents/upload"): {"200", "201", "400", "403", "413", "415"},
    ("get", "/api/documents"): {"200"},
    ("get", "/api/documents/{id}"): {"200", "304", "404"},
    ("get", "/api/documents/{id}/file"): {"200", "206", "404", "416"},
    ("get", "/api/documents/{id}/text"): {"200", "404", "409"},
    ("delete", "/api/documents/{id}"): {"204", "404"},
    ("get", "/api/search"): {"200", "400"},
    ("get", "/api/conversations"): {"200", "409"},
    ("post", "/api/conversations"): {"201", "400", "409"},
    ("get", "/api/conversations/{id}"): {"200", "404", "409"},
    ("patch", "/api/conversations/{id}"): {"200", "400", "404", "409"},
    ("delete", "/api/conversations/{id}"): {"204", "404", "409"},
    ("post", "/api/conversations/{id}/messages"): {"200", "400", "403", "404", "409"},
    ("get", "/api/dev/lectures"): {"200", "404"},
    ("get", "/api/me"): {"200"},
    ("delete", "/api/me"): {"204"},
}
# Routes called by other services, with no session token.
PUBLIC_CONTRACT = {("post", "/api/webhooks/clerk"): {"200", "400", "404", "413"}}


def served_schema() -> dict:
    response = Client().get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize(("method", "path"), list(CONTRACT), ids=" ".join)
def test_the_schema_documents_every_route_with_its_status_codes(method, path):
    responses = served_schema()["paths"][path][method]["responses"]

    # 429: every route is rate-limited.
    assert CONTRACT[(method, path)] | {"401", "429"} <= set(responses)


@pytest.mark.parametrize(("method", "path"), list(PUBLIC_CONTRACT), ids=" ".join)
def test_the_schema_documents_every_public_route_without_a_token(method, path):
    operation = served_schema()["paths"][path][method]

    assert set(operation["responses"]) == PUBLIC_CONTRACT[(method, path)] | {"429"}
    assert operation.get("security", []) in ([], [{}])


def test_the_schema_has_no_route_outside_the_contract():
    schema = served_schema()

    documented = {(method, path) for path, item in schema["paths"].items() for method in item}
    assert documented == set(CONTRACT) | set(PUBLIC_CONTRACT)
    assert schema["components"]["securitySchemes"]["ClerkSession"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }


def test_every_operation_declares_401_and_the_bearer_scheme():
    schema = served_schema()

    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if (method, path) in PUBLIC_CONTRACT:
                continue
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


@pytest.mark.parametrize(
    "path",
    [
        "/api/lectures/{id}",
        "/api/lectures/{id}/status",
        "/api/lectures/{id}/transcript",
        "/api/documents/{id}",
    ],
)
def test_the_conditional_reads_document_their_etag_and_the_304(path):
    operation = served_schema()["paths"][path]["get"]

    responses = operation["responses"]
    assert "content" not in responses["304"]
    for status in ("200", "304"):
        assert responses[status]["headers"]["ETag"]["schema"] == {"type": "string"}
    assert "If-None-Match" in {p["name"] for p in operation["parameters"] if p["in"] == "header"}


def test_a_400_documents_its_field_errors():
    schema = Client().get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    body = schema["components"]["schemas"]["ValidationError"]

    assert body["properties"]["errors"] == {
        "type": "object",
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
        "description": body["properties"]["errors"]["description"],
    }
    assert body["required"] == ["code", "detail"]
