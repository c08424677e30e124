"""``?limit=&offset=`` of every list and of search: one rule, from ``core.pagination``.

An offset past 10,000,000 is 400 on ``offset`` (search passed it to PostgreSQL, which
answered "bigint out of range", a 500); a limit past 100 gives 100 rows; a negative or
non-integer value is DRF's default. The same on every route, and in the OpenAPI document.
"""

from __future__ import annotations

import pytest
from django.test import Client

from courses.models import Course, Enrollment
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db

# The bound the README and the OpenAPI document state.
MAX_OFFSET = 10_000_000
LIST_ROUTES = {
    "courses": ("/api/courses", {}),
    "catalog": ("/api/courses/catalog", {}),
    "lectures": ("/api/lectures", {}),
    "documents": ("/api/documents", {}),
    "search": ("/api/search", {"q": "matrix"}),
    "dev lectures": ("/api/dev/lectures", {}),
}
TOO_FAR = {
    "2^63": str(2**63),
    "10^30": str(10**30),
    "the bound plus one": str(MAX_OFFSET + 1),
    "5,000 digits": "9" * 5_000,
    "padded": f" +{MAX_OFFSET + 1} ",
}
OFFSET_ERROR = [f"Ensure this value is less than or equal to {MAX_OFFSET}."]


@pytest.fixture
def admin_client(settings, alice, alice_client):
    """Alice as an API admin, with the dev routes on, so every list route answers her."""
    settings.ADMIN_USER_IDS = [alice.clerk_id]
    settings.DEV_ROUTES_ENABLED = True
    Enrollment.objects.create(user=alice, course=CourseFactory())
    return alice_client


@pytest.mark.parametrize("offset", list(TOO_FAR.values()), ids=list(TOO_FAR))
@pytest.mark.parametrize("route", list(LIST_ROUTES), ids=list(LIST_ROUTES))
def test_an_offset_past_the_bound_is_400_on_offset(admin_client, route, offset):
    path, params = LIST_ROUTES[route]
    courses_before = list(Course.objects.values_list("id", "code"))

    response = admin_client.get(path, {**params, "offset": offset})

    assert response.status_code == 400
    assert response.json() == {
        "detail": "Invalid input.",
        "code": "max_value",
        "errors": {"offset": OFFSET_ERROR},
        "offset": OFFSET_ERROR,
    }
    assert list(Course.objects.values_list("id", "code")) == courses_before


@pytest.mark.parametrize("route", list(LIST_ROUTES), ids=list(LIST_ROUTES))
def test_an_offset_on_the_bound_is_an_empty_page(admin_client, route):
    path, params = LIST_ROUTES[route]

    response = admin_client.get(path, {**params, "offset": MAX_OFFSET})

    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.parametrize("offset", ["-1", "-99999999999999999999", "ten", "1.5", ""])
@pytest.mark.parametrize("route", ["catalog", "search"])
def test_a_negative_or_non_integer_offset_counts_as_zero(admin_client, route, offset):
    path, params = LIST_ROUTES[route]

    response = admin_client.get(path, {**params, "offset": offset})

    assert response.status_code == 200
    assert response.json()["previous"] is None


@pytest.mark.parametrize("limit", [str(10**30), "9" * 5_000], ids=["10^30", "5,000 digits"])
def test_a_limit_past_the_cap_gives_a_page_of_100(alice_client, limit):
    CourseFactory.create_batch(101)

    response = alice_client.get("/api/courses/catalog", {"limit": limit})

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], len(body["results"])) == (101, 100)
    assert "limit=100" in body["next"]


@pytest.mark.parametrize("route", list(LIST_ROUTES), ids=list(LIST_ROUTES))
def test_the_schema_states_the_bounds_and_the_400_of_every_list(route):
    path, _ = LIST_ROUTES[route]
    schema = Client().get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"][path]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}

    offset = {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}
    assert parameters["offset"]["schema"] == offset
    assert str(MAX_OFFSET) in parameters["offset"]["description"]
    assert parameters["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100}
    assert "400" in operation["responses"]
