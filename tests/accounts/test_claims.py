"""What a signed token may put into the user table: the ``sub`` and the profile claims."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import User
from tests.auth import session_claims, sign
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/courses"


def get_with_claims(key, sub: str = "user_alice", **claims):
    token = sign(session_claims(sub, **claims), key)
    return APIClient().get(URL, HTTP_AUTHORIZATION=f"Bearer {token}")


def assert_refused(response) -> None:
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"detail": "invalid token", "code": "authentication_failed"}


# --- sub -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sub",
    [
        "user_\x00evil",
        "user_a\nb",
        "user_a\tb",
        "user_a\rb",
        "user_a\x7fb",
        "user_a\x1bb",
        "user_a\u0085b",
        "user_a\u202eb",
        "user_a\u200bb",
        "user_a\ud800b",
        "",
        "u" * 256,
    ],
    ids=[
        "nul",
        "newline",
        "tab",
        "carriage-return",
        "del",
        "escape",
        "next-line",
        "bidi-override",
        "zero-width-space",
        "lone-surrogate",
        "empty",
        "256-characters",
    ],
)
def test_a_sub_that_is_not_1_to_255_printable_characters_is_refused(clerk_key, sub):
    assert_refused(get_with_claims(clerk_key, sub))

    assert not User.objects.exists()


@pytest.mark.parametrize("sub", [17, ["user_a"], None])
def test_a_sub_that_is_not_text_is_refused(clerk_key, sub):
    claims = session_claims()
    claims["sub"] = sub

    response = APIClient().get(URL, HTTP_AUTHORIZATION=f"Bearer {sign(claims, clerk_key)}")

    assert_refused(response)


def test_a_sub_of_255_characters_is_accepted_and_kept_whole(clerk_key):
    sub = "user_" + "x" * 250

    assert get_with_claims(clerk_key, sub).status_code == 200

    assert User.objects.get().clerk_id == sub


def test_two_long_subs_sharing_their_first_150_characters_are_two_users(clerk_key):
    common = "user_" + "c" * 145
    first, second = common + "a" * 50, common + "b" * 50

    responses = [get_with_claims(clerk_key, sub) for sub in (first, second, first, second)]

    assert [response.status_code for response in responses] == [200] * 4
    users = {user.clerk_id: user for user in User.objects.all()}
    assert set(users) == {first, second}
    assert users[first].username != users[second].username


def test_a_new_clerk_users_username_is_their_id(clerk_key):
    get_with_claims(clerk_key, "user_new")

    user = User.objects.get(clerk_id="user_new")
    assert user.username == str(user.id)


def test_a_sub_that_is_another_users_username_is_still_a_new_user(clerk_key):
    staff = UserFactory(clerk_id=None, username="user_staffname", is_staff=True)

    assert get_with_claims(clerk_key, "user_staffname").status_code == 200

    assert User.objects.get(clerk_id="user_staffname") != staff


# --- profile claims --------------------------------------------------------------------


def test_control_characters_are_removed_from_profile_claims(clerk_key):
    response = get_with_claims(
        clerk_key,
        "user_dirty",
        email="ne\x00w@exa\x1bmple.com\n",
        first_name="Ni\x00a\u202e",
        last_name="N\tg\x7f\ud800",
    )

    assert response.status_code == 200
    user = User.objects.get(clerk_id="user_dirty")
    assert (user.email, user.first_name, user.last_name) == ("new@example.com", "Nia", "Ng")


def test_the_other_name_claims_are_cleaned_too(clerk_key):
    response = get_with_claims(
        clerk_key,
        "user_oidc",
        email_address="o\x00idc@example.com",
        given_name="Gi\x00ven",
        family_name="Fam\x00ily",
    )

    assert response.status_code == 200
    user = User.objects.get(clerk_id="user_oidc")
    assert (user.email, user.first_name, user.last_name) == ("oidc@example.com", "Given", "Family")


def test_a_profile_claim_of_only_control_characters_leaves_the_stored_value(clerk_key):
    UserFactory(clerk_id="user_kept", email="kept@example.com")

    assert get_with_claims(clerk_key, "user_kept", email="\x00\x00").status_code == 200

    assert User.objects.get(clerk_id="user_kept").email == "kept@example.com"


def test_over_long_profile_claims_are_cut_to_their_columns(clerk_key):
    response = get_with_claims(
        clerk_key,
        "user_long",
        email="e" * 300 + "@example.com",
        first_name="F" * 400,
        last_name="\x00" + "L" * 400,
    )

    assert response.status_code == 200
    user = User.objects.get(clerk_id="user_long")
    assert (user.email, user.first_name, user.last_name) == ("e" * 254, "F" * 150, "L" * 150)


def test_a_cleaned_claim_equal_to_the_stored_value_writes_nothing(clerk_key):
    get_with_claims(clerk_key, "user_same", email="same@example.com")

    with CaptureQueriesContext(connection) as queries:
        response = get_with_claims(clerk_key, "user_same", email="same@exa\x00mple.com")

    assert response.status_code == 200
    assert not [query for query in queries if query["sql"].startswith("UPDATE")]


# --- the data migration ----------------------------------------------------------------


def _usernames_from_ids():
    module = importlib.import_module("accounts.migrations.0002_clerk_usernames_are_user_ids")
    return module.usernames_from_ids


def test_the_migration_gives_existing_clerk_users_their_id_as_username():
    cut = UserFactory(clerk_id="user_" + "z" * 200, username="user_" + "z" * 145)
    short = UserFactory(clerk_id="user_short", username="user_short")
    staff = UserFactory(clerk_id=None, username="staff", is_staff=True)
    reports: list[str] = []

    _usernames_from_ids()(apps, None, report=reports.append)

    usernames = dict(User.objects.values_list("id", "username"))
    assert usernames == {cut.id: str(cut.id), short.id: str(short.id), staff.id: "staff"}
    assert reports == []


def test_the_migration_reports_a_clerk_user_whose_new_name_a_staff_account_has():
    clerk_user = UserFactory(clerk_id="user_odd", username="user_odd")
    UserFactory(clerk_id=None, username=str(clerk_user.id), is_staff=True)
    reports: list[str] = []

    _usernames_from_ids()(apps, None, report=reports.append)

    assert User.objects.get(pk=clerk_user.pk).username == "user_odd"
    assert len(reports) == 1 and str(clerk_user.id) in reports[0]


def test_migrate_rewrites_usernames_of_the_previous_schema():
    executor = MigrationExecutor(connection)
    before = [("accounts", "0001_initial")]
    executor.migrate(before)
    OldUser = executor.loader.project_state(before).apps.get_model("accounts", "User")
    cut = OldUser.objects.create(clerk_id="user_" + "y" * 200, username="user_" + "y" * 145)
    staff = OldUser.objects.create(clerk_id=None, username="staff", is_staff=True)

    MigrationExecutor(connection).migrate([("accounts", "0002_clerk_usernames_are_user_ids")])

    assert dict(User.objects.values_list("id", "username")) == {
        cut.id: str(cut.id),
        staff.id: "staff",
    }
