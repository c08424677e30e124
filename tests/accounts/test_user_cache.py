"""The per-process cache of Clerk users (``CLERK_USER_CACHE_SECONDS``), through the API.

These tests commit (``transaction=True``): the cache never keeps a row read inside a
transaction, and a test's own transaction would hide it.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import services
from accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/courses"


@pytest.fixture(autouse=True)
def _cache_on(settings):
    # Changing the setting empties the cache, and so does its restoring after the test.
    settings.CLERK_USER_CACHE_SECONDS = 5


@pytest.fixture
def clock(monkeypatch):
    """The cache's clock, moved by hand: ``clock.now += 6``."""
    fake = SimpleNamespace(now=1000.0)
    monkeypatch.setattr(services, "time", SimpleNamespace(monotonic=lambda: fake.now))
    return fake


def get(token: str):
    return APIClient().get(URL, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_a_cached_user_costs_no_query(token_for):
    UserFactory(clerk_id="user_carol")
    token = token_for("user_carol")
    assert get(token).status_code == 200

    with CaptureQueriesContext(connection) as queries:
        assert get(token).status_code == 200

    assert not [q for q in queries if "accounts_user" in q["sql"]]


def test_a_user_deactivated_with_save_is_refused_at_once(token_for):
    user = UserFactory(clerk_id="user_carol")
    token = token_for("user_carol")
    assert get(token).status_code == 200

    user.is_active = False
    user.save()

    assert get(token).status_code == 401


def test_a_deleted_user_is_not_served_from_the_cache(token_for):
    user = UserFactory(clerk_id="user_carol")
    token = token_for("user_carol")
    assert get(token).status_code == 200
    old_id = user.id

    user.delete()

    assert get(token).status_code == 200
    assert User.objects.get(clerk_id="user_carol").id != old_id


def test_a_deactivation_the_process_did_not_see_is_refused_after_the_ttl(token_for, clock):
    UserFactory(clerk_id="user_carol")
    token = token_for("user_carol")
    assert get(token).status_code == 200
    # As another process would: no signal reaches this one.
    User.objects.filter(clerk_id="user_carol").update(is_active=False)

    clock.now += 4
    still_cached = get(token).status_code
    clock.now += 2

    assert still_cached == 200
    assert get(token).status_code == 401


def test_a_request_cannot_change_the_cached_user(token_for):
    UserFactory(clerk_id="user_carol", first_name="Carol")
    services.user_get_or_create_from_clerk(clerk_id="user_carol")

    services.user_get_or_create_from_clerk(clerk_id="user_carol").first_name = "Mallory"

    assert services.user_get_or_create_from_clerk(clerk_id="user_carol").first_name == "Carol"


def test_with_a_ttl_of_zero_every_request_reads_the_user(settings, token_for):
    settings.CLERK_USER_CACHE_SECONDS = 0
    UserFactory(clerk_id="user_carol")
    token = token_for("user_carol")
    assert get(token).status_code == 200

    with CaptureQueriesContext(connection) as queries:
        assert get(token).status_code == 200

    assert [q for q in queries if "accounts_user" in q["sql"]]
