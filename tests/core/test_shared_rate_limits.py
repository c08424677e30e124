"""The rate limits hold across processes: two real gunicorn servers of two workers each,
on the test database, count one user's requests together, in the database cache table (the
default) or in Redis."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from core.ratelimits import RedisStore
from tests.auth import ISSUER, SPA_ORIGIN
from tests.live_server import LiveServer
from tests.workers import REDIS_URL

# gunicorn's access log, one line per request: the worker's pid, the path and the status.
ACCESS_LOG = "--access-logfile - --access-logformat 'served-by=%(p)s %(U)s %(s)s'"


@pytest.fixture(scope="module", params=["db://", REDIS_URL], ids=["database", "redis"])
def servers(request, django_db_setup, clerk_key, tmp_path_factory):
    """Two servers for the module's tests of one store, on the test database (named once
    the session set it up). Each test counts a user of its own; the tests that write rows
    for the servers to read commit them (``transactional_db``)."""
    logs = tmp_path_factory.mktemp("shared-rate-limits")
    if request.param == REDIS_URL:
        RedisStore(REDIS_URL).clear()  # counts of a run less than a window ago
    env = {
        "CLERK_JWT_KEY": clerk_key.public_pem,
        "CLERK_ISSUER": ISSUER,
        "CLERK_AUTHORIZED_PARTIES": SPA_ORIGIN,
        "MEDIA_ROOT": str(logs / "media"),
        "CACHE_URL": request.param,
        "RATE_API": "5/minute",
        "GUNICORN_CMD_ARGS": ACCESS_LOG,
    }
    started = []
    try:
        for name in ("a", "b"):
            started.append(LiveServer(env, logs / f"gunicorn-{name}.log", workers=2))
        for server in started:
            server.wait_ready()
        yield started
    finally:
        for server in started:
            server.stop()


def test_twelve_requests_over_fresh_connections_get_exactly_five_answers(
    servers, transactional_db, token_for
):
    headers = {"Authorization": f"Bearer {token_for('user_hammer')}"}
    logged_before = [server.log.stat().st_size for server in servers]

    # A fresh connection per request, alternating between the two servers.
    statuses = [
        httpx.get(f"{servers[i % 2].url}/api/courses", headers=headers, timeout=10).status_code
        for i in range(12)
    ]

    assert statuses == [200] * 5 + [429] * 7
    pids = set()
    for server, before in zip(servers, logged_before, strict=True):
        lines = server.log.read_bytes()[before:].decode()
        pids |= set(re.findall(r"served-by=<(\d+)> /api/courses", lines))
    assert len(pids) >= 2, "the requests were answered by more than one process"


def test_twelve_simultaneous_requests_get_exactly_five_answers(
    servers, transactional_db, token_for
):
    headers = {"Authorization": f"Bearer {token_for('user_crowd')}"}
    httpx.get(f"{servers[0].url}/api/me", headers=headers, timeout=10)  # the user's first sight

    def get(i: int) -> int:
        url = f"{servers[i % 2].url}/api/courses"
        return httpx.get(url, headers=headers, timeout=10).status_code

    # As many at once as the two servers' four workers take: each count is read and written
    # in one step of the store, so no two requests see the same count.
    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(get, range(12)))

    assert sorted(statuses) == [200] * 4 + [429] * 8


def test_simultaneous_status_polls_count_with_the_other_routes(
    servers, transactional_db, token_for
):
    """Simultaneous polls and other requests of one user, over both servers, pass exactly
    the rate between them."""
    from accounts.models import User
    from tests.lectures.factories import LectureFactory, LectureLinkFactory

    headers = {"Authorization": f"Bearer {token_for('user_poller')}"}
    httpx.get(f"{servers[0].url}/api/me", headers=headers, timeout=10)  # the user's first sight
    user = User.objects.get(clerk_id="user_poller")
    lecture = LectureLinkFactory(user=user, lecture=LectureFactory(status="downloading")).lecture
    paths = [f"/api/lectures/{lecture.id}/status"] * 2 + ["/api/courses"]

    def get(i: int) -> tuple[str, int]:
        path = paths[i % 3]
        response = httpx.get(f"{servers[i % 2].url}{path}", headers=headers, timeout=10)
        if response.status_code == 200 and "status" in path:
            assert response.json()["status"] == "downloading"
        return path, response.status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(get, range(12)))

    assert sorted(status for _path, status in answers) == [200] * 4 + [429] * 8
