"""The database backend's connection health check, on a real gunicorn server whose workers
keep their connections between requests (``CONN_MAX_AGE``)."""

from __future__ import annotations

import httpx
import pytest
from django.db import connection

from tests.auth import ISSUER, SPA_ORIGIN
from tests.live_server import LiveServer


@pytest.fixture
def server(transactional_db, clerk_key, tmp_path):
    env = {
        "CLERK_JWT_KEY": clerk_key.public_pem,
        "CLERK_ISSUER": ISSUER,
        "CLERK_AUTHORIZED_PARTIES": SPA_ORIGIN,
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    live = LiveServer(env, tmp_path / "gunicorn.log", workers=2).wait_ready()
    yield live
    live.stop()


def _cut_every_other_connection() -> int:
    """What a database restart does to its clients."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_requests_after_the_database_cut_the_connections_succeed(server, token_for):
    headers = {"Authorization": f"Bearer {token_for('user_restart')}"}
    before = [
        httpx.get(f"{server.url}/api/me", headers=headers, timeout=10).status_code for _ in range(6)
    ]
    assert _cut_every_other_connection() >= 1

    after = [
        httpx.get(f"{server.url}/api/me", headers=headers, timeout=10).status_code for _ in range(6)
    ]

    assert before == after == [200] * 6


def test_the_database_engine_is_the_project_s_postgresql_backend():
    assert connection.settings_dict["ENGINE"] == "core.backends.postgresql"
    assert connection.vendor == "postgresql"
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True


@pytest.mark.django_db
def test_the_status_statement_is_prepared_once_and_answers_the_same_every_time(alice, alice_client):
    from tests.lectures.factories import LectureFactory, LectureLinkFactory

    lecture = LectureFactory()
    LectureLinkFactory(user=alice, lecture=lecture)
    url = f"/api/lectures/{lecture.id}/status"

    answers = [alice_client.get(url) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert answers[0].json() == answers[1].json() == answers[2].json()
    assert answers[0].json()["updated_at"] == lecture.updated_at.isoformat().replace("+00:00", "Z")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%lectures_lecturelink%"],
        )
        assert cursor.fetchone()[0] == 1


@pytest.mark.django_db
def test_a_prepared_statement_is_recorded_with_its_text_and_parameters():
    from django.test.utils import CaptureQueriesContext

    from core.db import prepared_cursor

    with CaptureQueriesContext(connection) as captured:
        for value in (41, 1):  # prepared on the first run, executed by name on the second
            with prepared_cursor(connection) as cursor:
                cursor.execute("SELECT %s::int + 1", [value])
                assert cursor.fetchone() == (value + 1,)

    assert [query["sql"] for query in captured.captured_queries] == [
        "SELECT 41::int + 1",
        "SELECT 1::int + 1",
    ]
