"""``POST /api/webhooks/clerk``: Clerk's user events, through HTTP, with real signatures."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import DeletedClerkUser, User, WebhookDelivery
from tests.accounts.clerk_events import (
    OTHER_SECRET,
    SECRET,
    WEBHOOK_URL,
    deleted_event,
    deliver,
    event,
    svix_headers,
    user_data,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

INVALID = {"detail": "The webhook signature is missing or invalid.", "code": "invalid_signature"}
# A Clerk time (milliseconds since the epoch): 2023-11-14, the fixtures' own updated_at.
T0 = 1_700_000_000_000


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.CLERK_WEBHOOK_SECRET = SECRET
    return SECRET


@pytest.fixture
def client() -> APIClient:
    return APIClient()


def profile(clerk_id: str = "user_alice") -> tuple[str, str, str, int | None]:
    user = User.objects.get(clerk_id=clerk_id)
    return user.email, user.first_name, user.last_name, user.clerk_updated_at


# --- signatures ----------------------------------------------------------------------------


def test_a_signed_user_created_event_creates_the_user(client):
    response = deliver(client, event("user.created", user_data()))

    assert response.status_code == 200
    assert response.json() == {"outcome": "created"}
    assert profile() == ("alice@example.com", "Alice", "Liddell", 1_700_000_000_000)
    user = User.objects.get(clerk_id="user_alice")
    assert not user.has_usable_password()


def test_a_signature_made_with_another_secret_is_400_and_changes_nothing(client):
    response = deliver(client, event("user.created", user_data()), secret=OTHER_SECRET)

    assert response.status_code == 400
    assert response.json() == INVALID
    assert not User.objects.exists()
    assert not WebhookDelivery.objects.exists()


def test_a_tampered_body_is_400_and_changes_nothing(client):
    alice = UserFactory(clerk_id="user_alice")
    signed = json.dumps(deleted_event()).encode()
    headers = svix_headers(signed)
    tampered = json.dumps(deleted_event("user_bob")).encode()
    bob = UserFactory(clerk_id="user_bob")

    response = client.generic(
        "POST", WEBHOOK_URL, tampered, content_type="application/json", **headers
    )

    assert response.status_code == 400
    assert response.json() == INVALID
    assert User.objects.filter(pk__in=[alice.pk, bob.pk]).count() == 2
    assert not DeletedClerkUser.objects.exists()


@pytest.mark.parametrize("offset", [-301, 301], ids=["stale", "future"])
def test_a_timestamp_more_than_five_minutes_off_is_400(client, offset):
    response = deliver(
        client, event("user.created", user_data()), timestamp=int(time.time()) + offset
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_signature"
    assert not User.objects.exists()


def test_a_timestamp_four_minutes_old_is_accepted(client):
    response = deliver(client, event("user.created", user_data()), timestamp=int(time.time()) - 240)

    assert response.status_code == 200


def test_one_valid_signature_among_several_is_enough(client):
    payload = json.dumps(event("user.created", user_data())).encode()
    headers = svix_headers(payload)
    wrong = svix_headers(payload, secret=OTHER_SECRET, msg_id=headers["HTTP_SVIX_ID"])
    headers["HTTP_SVIX_SIGNATURE"] = " ".join(
        [wrong["HTTP_SVIX_SIGNATURE"], headers["HTTP_SVIX_SIGNATURE"], "v2,AAAA"]
    )

    response = client.generic(
        "POST", WEBHOOK_URL, payload, content_type="application/json", **headers
    )

    assert response.status_code == 200
    assert User.objects.filter(clerk_id="user_alice").exists()


def test_the_secret_works_without_its_whsec_prefix_too(client, settings):
    settings.CLERK_WEBHOOK_SECRET = SECRET.removeprefix("whsec_")

    response = deliver(client, event("user.created", user_data()))

    assert response.status_code == 200


@pytest.mark.parametrize("header", ["HTTP_SVIX_ID", "HTTP_SVIX_TIMESTAMP", "HTTP_SVIX_SIGNATURE"])
def test_a_missing_svix_header_is_400(client, header):
    payload = json.dumps(event("user.created", user_data())).encode()
    headers = svix_headers(payload)
    del headers[header]

    response = client.generic(
        "POST", WEBHOOK_URL, payload, content_type="application/json", **headers
    )

    assert response.status_code == 400
    assert response.json() == INVALID
    assert not User.objects.exists()


def test_a_delivery_id_longer_than_the_log_keeps_is_400(client):
    response = deliver(client, event("user.created", user_data()), msg_id="msg_" + "x" * 252)

    assert response.status_code == 400
    assert not User.objects.exists()


def test_no_session_token_is_needed_and_a_bad_one_is_ignored(client):
    client.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")

    assert deliver(client, event("user.created", user_data())).status_code == 200


def test_a_body_over_one_mebibyte_is_413(client):
    payload = json.dumps(event("user.created", {**user_data(), "pad": "x" * 1024 * 1024}))

    response = deliver(client, payload.encode())

    assert response.status_code == 413
    assert response.json() == {"detail": "The webhook body is over 1 MiB.", "code": "too_large"}
    assert not User.objects.exists()


def test_a_signed_body_that_is_not_a_json_object_is_400(client):
    response = deliver(client, b"[1, 2, 3]")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_without_a_secret_the_route_is_404(client, settings):
    settings.CLERK_WEBHOOK_SECRET = ""

    response = deliver(client, event("user.created", user_data()))

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
    assert not User.objects.exists()


# --- events --------------------------------------------------------------------------------


def test_user_updated_updates_the_profile_from_the_primary_address(client):
    UserFactory(clerk_id="user_alice", email="alice@example.com", first_name="Alice")

    response = deliver(
        client,
        event(
            "user.updated",
            user_data(email="alice@uni.example", first_name="Ally", last_name=None),
        ),
    )

    assert response.json() == {"outcome": "updated"}
    assert profile() == ("alice@uni.example", "Ally", "", 1_700_000_000_000)


def test_once_webhooks_keep_the_profile_token_claims_no_longer_overwrite_it(client, token_for):
    deliver(client, event("user.created", user_data(email="alice@uni.example")))
    stale_claims = token_for("user_alice", email="alice@old.example", first_name="Old")

    response = APIClient().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {stale_claims}")

    assert response.json()["email"] == "alice@uni.example"
    assert profile()[:2] == ("alice@uni.example", "Alice")


def test_profile_text_loses_control_characters_and_is_cut_to_the_column(client):
    deliver(
        client,
        event("user.created", user_data(first_name="Al\x00i\u202ece\n", last_name="L" * 300)),
    )

    _, first_name, last_name, _ = profile()
    assert first_name == "Alice"
    assert last_name == "L" * 150


def test_an_event_older_than_the_stored_profile_changes_nothing(client):
    deliver(client, event("user.updated", user_data(first_name="Newer", updated_at=T0 + 2_000)))

    older = user_data(first_name="Older", updated_at=T0 + 1_000)
    response = deliver(client, event("user.updated", older))

    assert response.status_code == 200
    assert response.json() == {"outcome": "ignored: older than the stored profile"}
    assert profile()[1:] == ("Newer", "Liddell", T0 + 2_000)


def test_a_created_event_arriving_after_an_update_does_not_undo_it(client):
    deliver(client, event("user.updated", user_data(first_name="Renamed", updated_at=T0 + 5_000)))

    deliver(client, event("user.created", user_data(first_name="Original", updated_at=T0 + 1_000)))

    assert profile()[1] == "Renamed"


def test_a_replayed_delivery_answers_200_and_does_nothing_twice(client):
    first = json.dumps(event("user.updated", user_data(first_name="First", updated_at=T0 + 1_000)))
    deliver(client, first.encode(), msg_id="msg_first")
    deliver(client, event("user.updated", user_data(first_name="Second", updated_at=T0 + 2_000)))
    User.objects.filter(clerk_id="user_alice").update(clerk_updated_at=None)

    # Svix retries with the same id and a fresh timestamp and signature.
    response = deliver(client, first.encode(), msg_id="msg_first")

    assert response.status_code == 200
    assert response.json() == {"outcome": "already processed"}
    assert profile()[1] == "Second"
    assert WebhookDelivery.objects.filter(svix_id="msg_first").count() == 1


def test_other_event_types_are_200_and_ignored(client):
    response = deliver(client, event("session.created", {"id": "sess_1", "user_id": "user_x"}))

    assert response.status_code == 200
    assert response.json() == {"outcome": "ignored: not a user event"}
    assert not User.objects.exists()
    assert WebhookDelivery.objects.get().event_type == "session.created"


@pytest.mark.parametrize("clerk_id", [None, "", 42, "user_\x00nul", "u" * 256])
def test_a_user_event_without_a_valid_clerk_id_is_400(client, clerk_id):
    response = deliver(client, event("user.created", {**user_data(), "id": clerk_id}))

    assert response.status_code == 400
    assert not User.objects.exists()
    assert not WebhookDelivery.objects.exists()


def test_deliveries_older_than_the_retention_are_forgotten_on_the_next_write(client, settings):
    settings.CLERK_WEBHOOK_RETENTION_DAYS = 7
    deliver(client, event("user.created", user_data()), msg_id="msg_old")
    WebhookDelivery.objects.filter(svix_id="msg_old").update(
        received_at=timezone.now() - timedelta(days=8)
    )

    deliver(client, event("user.updated", user_data(updated_at=T0 + 1_000)))

    assert list(WebhookDelivery.objects.values_list("event_type", flat=True)) == ["user.updated"]


# --- deletion remembered ---------------------------------------------------------------------


def test_user_deleted_removes_the_user_and_remembers_the_deletion(client):
    UserFactory(clerk_id="user_alice")

    response = deliver(client, deleted_event(timestamp=1_750_000_000_000))

    assert response.json() == {"outcome": "deleted"}
    assert not User.objects.filter(clerk_id="user_alice").exists()
    assert DeletedClerkUser.objects.get(clerk_id="user_alice").deleted_at_ms == 1_750_000_000_000


def test_user_deleted_for_a_user_never_seen_is_remembered_too(client):
    response = deliver(client, deleted_event("user_stranger"))

    assert response.status_code == 200
    assert DeletedClerkUser.objects.filter(clerk_id="user_stranger").exists()


def test_a_late_update_from_before_the_deletion_does_not_bring_the_user_back(client):
    UserFactory(clerk_id="user_alice")
    deliver(client, deleted_event(timestamp=1_750_000_000_000))

    response = deliver(client, event("user.updated", user_data(updated_at=1_740_000_000_000)))

    assert response.json() == {"outcome": "ignored: the user was deleted after this event"}
    assert not User.objects.filter(clerk_id="user_alice").exists()


def test_a_user_created_after_the_deletion_is_created_and_the_deletion_forgotten(client):
    deliver(client, deleted_event(timestamp=1_750_000_000_000))

    response = deliver(client, event("user.created", user_data(updated_at=1_760_000_000_000)))

    assert response.json() == {"outcome": "created"}
    assert User.objects.filter(clerk_id="user_alice").exists()
    assert not DeletedClerkUser.objects.exists()


# --- times of events ---------------------------------------------------------------------

JANUARY_2000 = 946_684_800_000
IMPLAUSIBLE_TIMES = {
    "10^30": 10**30,
    "2^63": 2**63,
    "before 2000": JANUARY_2000 - 1,
    "two days ahead": int((time.time() + 2 * 86_400) * 1000),
    "negative": -1,
    "zero": 0,
    "a string": str(T0),
    "a float": float(T0),
    "true": True,
}


def time_refused(field: str) -> dict:
    message = [
        f"`{field}` is not a time in milliseconds since the epoch between 2000-01-01 and "
        "a day from now."
    ]
    return {"detail": message[0], "code": "invalid", "errors": {field: message}, field: message}


def users() -> list[tuple]:
    return list(User.objects.values_list("clerk_id", "first_name", "clerk_updated_at"))


@pytest.mark.parametrize("value", list(IMPLAUSIBLE_TIMES.values()), ids=list(IMPLAUSIBLE_TIMES))
@pytest.mark.parametrize("field", ["updated_at", "created_at"])
@pytest.mark.parametrize(
    ("event_type", "clerk_id"),
    [("user.created", "user_carol"), ("user.updated", "user_alice")],
    ids=["a new user", "a known user"],
)
def test_a_profile_event_with_an_implausible_time_is_400_and_changes_nothing(
    client, event_type, clerk_id, field, value
):
    deliver(client, event("user.created", user_data()), msg_id="msg_alice")
    before = users()
    data = {**user_data(clerk_id, first_name="Mallory"), field: value}

    response = deliver(client, event(event_type, data), msg_id="msg_implausible")

    assert response.status_code == 400
    assert response.json() == time_refused(f"data.{field}")
    assert users() == before
    assert list(WebhookDelivery.objects.values_list("svix_id", flat=True)) == ["msg_alice"]


@pytest.mark.parametrize("value", list(IMPLAUSIBLE_TIMES.values()), ids=list(IMPLAUSIBLE_TIMES))
def test_a_deletion_with_an_implausible_timestamp_is_400_and_changes_nothing(client, value):
    UserFactory(clerk_id="user_alice")

    response = deliver(client, deleted_event(timestamp=value))

    assert response.status_code == 400
    assert response.json() == time_refused("timestamp")
    assert User.objects.filter(clerk_id="user_alice").exists()
    assert not DeletedClerkUser.objects.exists()
    assert not WebhookDelivery.objects.exists()


def test_a_refused_delivery_is_not_remembered_and_its_id_applies_later(client):
    refused = deliver(
        client, event("user.created", user_data(updated_at=10**30)), msg_id="msg_again"
    )

    response = deliver(client, event("user.created", user_data()), msg_id="msg_again")

    assert refused.status_code == 400
    assert response.json() == {"outcome": "created"}
    assert profile()[3] == T0


@pytest.mark.parametrize(
    "updated_at",
    [JANUARY_2000, int((time.time() + 3_600) * 1000)],
    ids=["2000-01-01", "an hour ahead"],
)
def test_times_from_2000_to_a_day_ahead_are_accepted(client, updated_at):
    response = deliver(client, event("user.created", user_data(updated_at=updated_at)))

    assert response.json() == {"outcome": "created"}
    assert profile()[3] == updated_at
