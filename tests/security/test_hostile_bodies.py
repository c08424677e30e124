"""Absurd request bodies get a clear JSON 4xx, never a 500, and store nothing."""

from __future__ import annotations

import pytest

from courses.models import Course

pytestmark = pytest.mark.django_db


def test_a_json_body_nested_ten_thousand_levels_deep_is_a_400(alice_client):
    response = alice_client.post(
        "/api/courses", data="[" * 10_000 + "]" * 10_000, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "detail": "JSON parse error - the body is nested too deeply.",
        "code": "parse_error",
    }
    assert not Course.objects.exists()


def test_a_json_number_of_five_thousand_digits_is_a_400(alice_client):
    body = '{"code": "CSC 173", "title": ' + "9" * 5_000 + "}"

    response = alice_client.post("/api/courses", data=body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert not Course.objects.exists()
