"""The stores the rate limits count in (``core.ratelimits``), each through HTTP in this
process: the database table (``CACHE_URL=db://``), Redis and per-process memory."""

from __future__ import annotations

import hashlib
import logging

import pytest
import redis
from django.db import connection
from rest_framework.throttling import SimpleRateThrottle

from core import ratelimits
from core.models import RateLimitBucket
from tests.lectures.factories import LectureFactory, LectureLinkFactory
from tests.workers import REDIS_URL

pytestmark = pytest.mark.django_db

STORES = {"database": "db://", "redis": REDIS_URL, "memory": "memory://"}


@pytest.fixture(params=list(STORES), ids=list(STORES))
def store(request, settings) -> str:
    settings.RATE_LIMIT_STORE = STORES[request.param]
    return request.param


@pytest.fixture
def clock(monkeypatch) -> list[float]:
    now = [1_000_000.0]
    monkeypatch.setattr(SimpleRateThrottle, "timer", lambda self: now[0])
    return now


def test_over_the_rate_is_429_with_retry_after_in_every_store(store, alice_client, rates):
    rates(api="3/minute")

    statuses = [alice_client.get("/api/courses").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    response = alice_client.get("/api/me")
    assert response["Retry-After"] == "20"
    assert response.json() == {
        "detail": "Request was throttled. Expected available in 20 seconds.",
        "code": "throttled",
    }


def test_in_every_store_requests_come_back_as_time_passes_and_users_count_apart(
    store, alice_client, bob_client, rates, clock
):
    rates(api="2/minute")
    assert [alice_client.get("/api/courses").status_code for _ in range(3)] == [200, 200, 429]
    assert bob_client.get("/api/courses").status_code == 200

    clock[0] += 29
    assert alice_client.get("/api/courses").status_code == 429
    clock[0] += 1  # 30 s: one request's worth
    assert [alice_client.get("/api/courses").status_code for _ in range(2)] == [200, 429]


def test_in_every_store_a_refused_request_is_not_counted(store, alice_client, rates, clock):
    rates(api="2/minute")
    for _ in range(5):
        alice_client.get("/api/courses")

    clock[0] += 30  # one interval after the two that passed: only refusals since

    assert [alice_client.get("/api/courses").status_code for _ in range(2)] == [200, 429]


def _status_url(user) -> str:
    lecture = LectureLinkFactory(user=user, lecture=LectureFactory(status="extracting")).lecture
    return f"/api/lectures/{lecture.id}/status"


def test_in_every_store_the_polled_status_route_counts_against_the_api_rate(
    store, alice, alice_client, rates
):
    """The polled status route has the rate, the scope and the 429 of every other route."""
    rates(api="3/minute")
    status = _status_url(alice)

    answers = [alice_client.get(status) for _ in range(2)]
    answers.append(alice_client.get("/api/courses"))
    refused = alice_client.get(status)

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].json()["status"] == "extracting"
    assert refused.status_code == 429
    assert refused["Retry-After"] == "20"
    assert refused.json() == {
        "detail": "Request was throttled. Expected available in 20 seconds.",
        "code": "throttled",
    }
    assert alice_client.get("/api/courses").status_code == 429


def test_in_every_store_a_status_request_that_finds_no_lecture_is_counted(
    store, alice, bob, alice_client, rates, clock
):
    rates(api="3/minute")
    bobs = _status_url(bob)

    statuses = [
        alice_client.get("/api/lectures/not-a-uuid/status").status_code,  # no read at all
        alice_client.get(bobs).status_code,  # read, found nothing for alice
        alice_client.get(f"/api/lectures/{LectureFactory().id}/status").status_code,
        alice_client.get("/api/lectures/not-a-uuid/status").status_code,
        alice_client.get(bobs).status_code,
    ]

    assert statuses == [404, 404, 404, 429, 429]
    clock[0] += 20  # one request's worth; the refusals were not counted
    assert [alice_client.get(bobs).status_code for _ in range(2)] == [404, 429]


@pytest.mark.parametrize("method", ["options", "post", "delete"])
def test_in_every_store_other_methods_on_the_status_route_are_counted_too(
    store, alice, alice_client, rates, method
):
    """An OPTIONS (answered) or a method the route does not allow (405) counts as a GET
    does: the throttle runs before the view."""
    rates(api="2/minute")
    status = _status_url(alice)

    first = getattr(alice_client, method)(status)
    second = alice_client.head(status)

    assert (first.status_code, second.status_code) == (200 if method == "options" else 405, 200)
    assert getattr(alice_client, method)(status).status_code == 429
    assert alice_client.get(status).status_code == 429


def test_the_database_counts_a_user_in_one_row_of_its_own_table(
    alice, alice_client, rates, settings, clock
):
    settings.RATE_LIMIT_STORE = "db://"
    rates(api="2/minute")

    alice_client.get("/api/courses")
    alice_client.get("/api/courses")
    alice_client.get("/api/courses")  # refused

    (bucket,) = RateLimitBucket.objects.all()
    assert bucket.key.startswith("throttle:api:")
    assert bucket.empty_at == clock[0] + 60


def test_the_database_deletes_rows_whose_bucket_is_empty_again(
    alice_client, bob_client, rates, settings, clock, monkeypatch
):
    settings.RATE_LIMIT_STORE = "db://"
    rates(api="2/minute")
    alice_client.get("/api/courses")
    (alices,) = RateLimitBucket.objects.values_list("key", flat=True)
    clock[0] += 31  # alice's bucket is empty again

    monkeypatch.setattr(ratelimits.random, "randrange", lambda n: 0)  # this write cleans up
    bob_client.get("/api/courses")

    keys = set(RateLimitBucket.objects.values_list("key", flat=True))
    assert alices not in keys
    assert len(keys) == 1


def test_the_rate_limit_table_is_unlogged_so_a_write_waits_for_no_wal_flush():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relpersistence FROM pg_class WHERE oid = %s::regclass",
            [RateLimitBucket._meta.db_table],
        )
        assert cursor.fetchone()[0] == "u"


def test_a_redis_count_expires_when_its_bucket_is_empty_again(
    alice, alice_client, rates, settings, clock
):
    settings.RATE_LIMIT_STORE = REDIS_URL
    rates(api="2/minute")

    alice_client.get("/api/courses")
    alice_client.get("/api/courses")

    digest = hashlib.sha256(f"user:{alice.clerk_id}".encode()).hexdigest()[:32]
    key = f"{ratelimits.REDIS_KEY_PREFIX}throttle:api:{digest}"
    client = redis.Redis.from_url(REDIS_URL)
    assert 59_000 < client.pttl(key) <= 60_000  # the bucket is empty a period later
    assert float(client.get(key)) == clock[0] + 60


def test_a_database_that_fails_lets_requests_through_with_a_warning(
    alice, alice_client, rates, settings, caplog
):
    settings.RATE_LIMIT_STORE = "db://"
    rates(api="1/minute")
    status = _status_url(alice)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE core_rate_limit_bucket RENAME TO core_rate_limit_gone")
        try:
            with caplog.at_level(logging.WARNING, logger="core.throttling"):
                statuses = [alice_client.get("/api/courses").status_code for _ in range(3)]
                # The status route's one statement fails with the table; its read is
                # made again on its own.
                polls = [alice_client.get(status) for _ in range(2)]
        finally:
            cursor.execute("ALTER TABLE core_rate_limit_gone RENAME TO core_rate_limit_bucket")

    assert statuses == [200, 200, 200]
    assert [p.status_code for p in polls] == [200, 200]
    assert polls[0].json()["status"] == "extracting"
    assert caplog.messages.count("rate limit not applied: its store failed") == 5


def test_a_redis_that_is_down_lets_requests_through_with_a_warning(
    alice, alice_client, rates, settings, caplog
):
    settings.RATE_LIMIT_STORE = "redis://127.0.0.1:1/0"  # nothing listens there
    rates(api="1/minute")
    status = _status_url(alice)

    with caplog.at_level(logging.WARNING, logger="core.throttling"):
        statuses = [alice_client.get("/api/courses").status_code for _ in range(3)]
        statuses += [alice_client.get(status).status_code for _ in range(2)]

    assert statuses == [200, 200, 200, 200, 200]
    assert caplog.messages.count("rate limit not applied: its store failed") == 5
