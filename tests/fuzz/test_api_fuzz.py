"""Schemathesis against the running server: every operation of ``/api/schema``.

Each operation gets valid and invalid requests (schemathesis' positive and negative
generation) with a valid token, many of them aimed at objects that exist (the caller's,
or someone else's), and every answer must be: not a 5xx, a status code the schema
documents, the documented content type, a body and headers matching the schema.

Bounded so CI stays short: ``FUZZ_MAX_EXAMPLES`` examples per operation (default 40),
derandomized (the same cases every run) unless ``FUZZ_RANDOM=1``, which explores anew.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api_operations import documented_operations
from tests.fuzz.conftest import STREAM_HOST

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db(transaction=True)]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
FUZZ_SETTINGS = settings(
    max_examples=int(os.environ.get("FUZZ_MAX_EXAMPLES", "40")),
    derandomize=os.environ.get("FUZZ_RANDOM") != "1",
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
SESSION_ID = "6b3c1f4e-1f2a-4c5b-9d8e-0a1b2c3d4e5f"


OPERATIONS = [f"{method} {path}" for method, path in documented_operations()]

# Which generated values to swap for real ones, so the fuzzer reaches past the 404s and the
# "not enrolled" 400s: an index into the existing ids, or None to keep the generated id.
_AIM = st.fixed_dictionaries(
    {
        "id": st.none() | st.integers(min_value=0, max_value=10),
        "course": st.booleans(),
        "links": st.booleans(),
        "revalidate": st.booleans(),
    }
)


def _aim_at_existing_objects(case, world, aim: dict) -> None:
    ids = world.ids_for(case.path)
    if aim["id"] is not None and ids and case.path_parameters and "id" in case.path_parameters:
        case.path_parameters["id"] = ids[aim["id"] % len(ids)]
    body = case.body
    if aim["course"] and isinstance(body, dict) and "course_id" in body:
        body["course_id"] = world.enrolled_course_ids[0]
    if aim["links"] and isinstance(body, dict) and "panopto_url" in body:
        body["panopto_url"] = (
            f"https://uni.hosted.panopto.com/Panopto/Pages/Viewer.aspx?id={SESSION_ID}"
        )
        body["stream_url"] = f"https://{STREAM_HOST}/sessions/{SESSION_ID}.mp4"
    if aim["revalidate"] and case.method == "GET" and case.path.endswith(("/audio", "/file")):
        # What a browser sends for a file it has cached: the answer may be a 304.
        case.headers = {**(case.headers or {}), "If-None-Match": "*"}


def _refused_by_gunicorn(response) -> bool:
    """gunicorn's own limits (a request line over 4 KiB, too many or too long headers) are
    answered before Django sees the request: not part of the API's schema."""
    return response.status_code in (414, 431) or (
        response.status_code == 400 and response.headers.get("Content-Type") == "text/html"
    )


def test_the_served_schema_has_every_operation(served_schema):
    served = [
        f"{result.ok().method.upper()} {result.ok().path}"
        for result in served_schema.get_all_operations()
    ]

    assert sorted(served) == sorted(OPERATIONS)


@pytest.mark.parametrize("label", OPERATIONS)
def test_no_request_breaks_the_api_or_its_schema(label, served_schema, fuzz_server, world):
    method, path = label.split(" ", 1)
    operation = served_schema[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )
    headers = {"Authorization": f"Bearer {world.token}"}

    @FUZZ_SETTINGS
    @given(case=cases, aim=_AIM)
    def fuzz(case, aim):
        _aim_at_existing_objects(case, world, aim)
        response = case.call(base_url=fuzz_server.url, headers=headers, timeout=30)
        if _refused_by_gunicorn(response):
            return
        case.validate_response(
            response,
            checks=CHECKS,
            headers=headers,
            transport_kwargs={"base_url": fuzz_server.url, "headers": headers},
        )

    fuzz()
