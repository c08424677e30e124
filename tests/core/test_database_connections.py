"""Django's PostgreSQL backend with its connection health check (``CONN_HEALTH_CHECKS``), on
a real gunicorn server whose workers keep their connections between requests
(``CONN_MAX_AGE``)."""

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


def test_the_service_s_database_engine_is_django_s_own_with_health_checks():
    from studybuddy.settings import base

    assert base.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True


def test_the_suite_s_flush_empties_tables_that_refer_to_each_other(transactional_db):
    from django.core.management import call_command

    from accounts.models import User
    from courses.models import Enrollment
    from tests.factories import CourseFactory, UserFactory

    Enrollment.objects.create(user=UserFactory(), course=CourseFactory())

    call_command("flush", interactive=False, verbosity=0)

    assert connection.settings_dict["ENGINE"] == "tests.postgresql"
    assert (User.objects.count(), Enrollment.objects.count()) == (0, 0)


def _error_of(run) -> Exception:
    try:
        run()
    except Exception as error:
        return error
    raise AssertionError("no error")


@pytest.mark.django_db
def test_a_server_that_refuses_the_connection_is_an_outage_answered_503():
    from django.db import connections

    from core.exceptions import DatabaseUnavailable, backend_error, error_headers
    from tests.live_server import free_port

    unreachable = {**connection.settings_dict, "HOST": "127.0.0.1", "PORT": free_port()}
    probe = connections.create_connection("default")
    probe.settings_dict = unreachable

    error = backend_error(_error_of(probe.ensure_connection))

    assert isinstance(error, DatabaseUnavailable)
    assert (error.status_code, error.code, error_headers(error)) == (
        503,
        "unavailable",
        {"Retry-After": "5"},
    )


@pytest.mark.django_db
def test_a_cancelled_statement_is_an_error_of_the_service_not_an_outage():
    from django.db import transaction

    from core.exceptions import backend_error

    def slow_statement():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 10")
            cursor.execute("SELECT pg_sleep(1)")

    error = _error_of(slow_statement)

    assert type(error).__name__ == "OperationalError"
    assert backend_error(error) is None
