"""``GET /api/me``: who I am, what I use and my limits."""

from __future__ import annotations

import pytest

from tests.accounts.test_deletion import stored_document
from tests.factories import EnrollmentFactory
from tests.lectures.factories import LectureLinkFactory

pytestmark = pytest.mark.django_db


def test_me_answers_the_profile_usage_and_limits(alice, alice_client, settings):
    settings.USER_DOCUMENT_QUOTA_BYTES = 1_000_000
    settings.USER_ACTIVE_DOWNLOADS = 3
    course = EnrollmentFactory(user=alice).course
    EnrollmentFactory(user=alice)
    LectureLinkFactory(user=alice)
    documents = [stored_document(alice, course) for _ in range(3)]
    alice.first_name, alice.last_name = "Alice", "Liddell"
    alice.save()

    response = alice_client.get("/api/me")

    assert response.status_code == 200
    assert response.json() == {
        "id": str(alice.id),
        "clerk_id": "user_alice",
        "email": "alice@example.com",
        "first_name": "Alice",
        "last_name": "Liddell",
        "is_admin": False,
        "usage": {
            "courses": 2,
            "lectures": 1,
            "documents": 3,
            "document_bytes": sum(d.size_bytes for d in documents),
            "embedded_passages": 0,
            "assistant_tokens_today": 0,
        },
        "limits": {
            "document_bytes": 1_000_000,
            "active_downloads": 3,
            "assistant_tokens_per_day": 200_000,
        },
    }


def test_me_counts_only_the_callers_things(alice, bob, alice_client):
    course = EnrollmentFactory(user=bob).course
    stored_document(bob, course)
    LectureLinkFactory(user=bob)

    usage = alice_client.get("/api/me").json()["usage"]

    assert usage == {
        "courses": 0,
        "lectures": 0,
        "documents": 0,
        "document_bytes": 0,
        "embedded_passages": 0,
        "assistant_tokens_today": 0,
    }


def test_me_says_when_the_caller_is_an_api_admin(alice, alice_client, settings):
    settings.ADMIN_USER_IDS = ["user_alice"]

    assert alice_client.get("/api/me").json()["is_admin"] is True


def test_the_limits_default_to_two_gibibytes_and_five_downloads(alice_client):
    assert alice_client.get("/api/me").json()["limits"] == {
        "document_bytes": 2 * 1024**3,
        "active_downloads": 5,
        "assistant_tokens_per_day": 200_000,
    }


def test_me_takes_the_same_queries_for_one_or_many_documents(
    alice, alice_client, django_assert_num_queries
):
    course = EnrollmentFactory(user=alice).course
    stored_document(alice, course)
    LectureLinkFactory(user=alice)
    with django_assert_num_queries(2):  # the user, then the usage with every registered count
        alice_client.get("/api/me")
    for _ in range(5):
        stored_document(alice, course)
        LectureLinkFactory(user=alice)
        EnrollmentFactory(user=alice)

    with django_assert_num_queries(2):
        response = alice_client.get("/api/me")

    assert response.json()["usage"]["documents"] == 6
    assert response.json()["usage"]["lectures"] == 6
    assert response.json()["usage"]["courses"] == 6


def test_me_needs_a_token(api_client):
    response = api_client.get("/api/me")

    assert response.status_code == 401
