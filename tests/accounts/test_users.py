"""Local users for Clerk users: created once, whoever asks first."""

import uuid

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from accounts.selectors import user_is_api_admin
from tests.concurrency import run_concurrently
from tests.factories import UserFactory


def test_twenty_concurrent_first_requests_create_exactly_one_user(transactional_db, token_for):
    tokens = [token_for("user_brand_new", email="new@example.com") for _ in range(20)]

    responses = run_concurrently(
        20, lambda i: APIClient().get("/api/courses", HTTP_AUTHORIZATION=f"Bearer {tokens[i]}")
    )

    assert [getattr(r, "status_code", r) for r in responses] == [200] * 20
    assert User.objects.filter(clerk_id="user_brand_new").count() == 1


@pytest.mark.django_db
def test_staff_users_are_api_admins():
    assert user_is_api_admin(UserFactory(is_staff=True))
    assert not user_is_api_admin(UserFactory())


@pytest.mark.django_db
def test_admin_user_ids_name_users_by_uuid_in_any_case(settings):
    user = UserFactory()
    settings.ADMIN_USER_IDS = [str(user.id).upper()]

    assert user_is_api_admin(user)
    assert not user_is_api_admin(UserFactory())


@pytest.mark.django_db
def test_admin_user_ids_name_users_by_exact_clerk_id(settings):
    user = UserFactory(clerk_id="user_2AbCdEf")
    settings.ADMIN_USER_IDS = ["user_2AbCdEf", str(uuid.uuid4())]

    assert user_is_api_admin(user)
    assert not user_is_api_admin(UserFactory(clerk_id="user_2abcdef"))
