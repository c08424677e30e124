"""Rate limits per route family, through HTTP in this process."""

from __future__ import annotations

import pytest
from rest_framework.throttling import SimpleRateThrottle

from tests.accounts.clerk_events import SECRET, deliver, event, user_data
from tests.factories import EnrollmentFactory
from tests.lectures.factories import LectureFactory, LectureLinkFactory

pytestmark = pytest.mark.django_db


def test_over_the_api_rate_is_429_with_retry_after_and_the_error_body(alice_client, rates):
    rates(api="3/minute")

    statuses = [alice_client.get("/api/courses").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    response = alice_client.get("/api/me")
    assert response.status_code == 429
    assert response["Retry-After"] == "20"  # a minute / 3 requests: the next one is free then
    assert response.json() == {
        "detail": "Request was throttled. Expected available in 20 seconds.",
        "code": "throttled",
    }


def test_a_conditional_poll_answered_304_counts_as_any_request_does(alice, alice_client, rates):
    rates(api="3/minute")
    lecture = LectureLinkFactory(user=alice, lecture=LectureFactory(status="extracting")).lecture
    url = f"/api/lectures/{lecture.id}/status"
    etag = alice_client.get(url)["ETag"]

    polls = [alice_client.get(url, HTTP_IF_NONE_MATCH=etag) for _ in range(3)]

    assert [poll.status_code for poll in polls] == [304, 304, 429]
    assert polls[2]["Retry-After"] == "20"


def test_the_limit_is_per_user(alice_client, bob_client, rates):
    rates(api="2/minute")
    for _ in range(3):
        alice_client.get("/api/courses")

    assert alice_client.get("/api/courses").status_code == 429
    assert bob_client.get("/api/courses").status_code == 200


def test_deleting_the_account_does_not_reset_the_limit(alice_client, rates):
    rates(api="3/minute")
    alice_client.get("/api/courses")
    assert alice_client.delete("/api/me").status_code == 204

    # The same token finds a new, empty local user, counted in the same bucket.
    statuses = [alice_client.get("/api/me").status_code for _ in range(2)]

    assert statuses == [200, 429]


def test_requests_come_back_as_time_passes(alice_client, rates, monkeypatch):
    clock = [1_000_000.0]
    monkeypatch.setattr(SimpleRateThrottle, "timer", lambda self: clock[0])
    rates(api="2/minute")
    assert [alice_client.get("/api/courses").status_code for _ in range(3)] == [200, 200, 429]

    clock[0] += 29
    assert alice_client.get("/api/courses").status_code == 429
    clock[0] += 1  # 30 s: one request's worth
    assert [alice_client.get("/api/courses").status_code for _ in range(2)] == [200, 429]


def test_lecture_requests_and_retries_share_their_own_scope(alice, alice_client, rates):
    rates(lecture_requests="2/hour")
    lecture = LectureFactory()
    LectureLinkFactory(user=alice, lecture=lecture)
    retry = f"/api/lectures/{lecture.id}/retry"

    statuses = [
        alice_client.post(retry).status_code,  # 409: not failed, but it counts
        alice_client.post("/api/lectures/download", {}, format="json").status_code,
        alice_client.post(retry).status_code,
        alice_client.post("/api/lectures/download", {}, format="json").status_code,
    ]

    assert statuses == [409, 400, 429, 429]
    assert alice_client.get("/api/lectures").status_code == 200  # the api scope is apart


def test_recording_uploads_count_as_lecture_requests(alice, alice_client, rates):
    rates(lecture_requests="1/hour")

    first = alice_client.post("/api/lectures/upload", {}, format="multipart")
    second = alice_client.post("/api/lectures/upload", {}, format="multipart")

    assert (first.status_code, second.status_code) == (400, 429)
    assert alice_client.post("/api/lectures/download", {}, format="json").status_code == 429


def test_asking_for_transcriptions_has_its_own_scope_and_reading_them_does_not(
    alice, alice_client, rates
):
    rates(transcriptions="1/hour")
    lecture = LectureFactory()
    LectureLinkFactory(user=alice, lecture=lecture)
    transcript = f"/api/lectures/{lecture.id}/transcript"

    first = alice_client.post(transcript)
    second = alice_client.post(transcript)

    assert first.status_code in (202, 409)
    assert second.status_code == 429
    assert second.json()["code"] == "throttled"
    assert alice_client.get(transcript).status_code == 409  # not ready, and not throttled


def test_document_uploads_have_their_own_scope(alice, alice_client, rates):
    rates(document_uploads="1/hour")
    EnrollmentFactory(user=alice)

    first = alice_client.post("/api/documents/upload", {}, format="multipart")
    second = alice_client.post("/api/documents/upload", {}, format="multipart")

    assert (first.status_code, second.status_code) == (400, 429)
    assert second.json()["code"] == "throttled"
    assert alice_client.get("/api/documents").status_code == 200


def test_the_webhook_is_limited_per_client_address(api_client, rates, settings):
    settings.CLERK_WEBHOOK_SECRET = SECRET
    rates(webhooks="2/minute")

    statuses = [
        deliver(
            api_client, event("user.updated", user_data()), extra={"REMOTE_ADDR": address}
        ).status_code
        for address in ["203.0.113.7", "203.0.113.7", "203.0.113.7", "198.51.100.1"]
    ]

    assert statuses == [200, 200, 429, 200]


def test_a_forged_forwarded_for_does_not_give_a_fresh_limit(api_client, rates, settings):
    settings.CLERK_WEBHOOK_SECRET = SECRET
    rates(webhooks="1/minute")

    # nginx appends the address it sees after whatever the client sent.
    statuses = [
        deliver(
            api_client,
            event("user.updated", user_data()),
            extra={"HTTP_X_FORWARDED_FOR": f"10.0.0.{n}, 203.0.113.7"},
        ).status_code
        for n in range(3)
    ]

    assert statuses == [200, 429, 429]


def test_the_schema_and_the_docs_are_not_limited(api_client, rates):
    rates(api="1/minute")

    assert [api_client.get("/api/schema").status_code for _ in range(3)] == [200, 200, 200]
