"""The limits' configuration: rates, their store and the cache from the environment,
checked at start-up, and the database cache table that ``migrate`` creates."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from django.db import connection

from tests.test_settings import PRODUCTION, manage, run_python


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"RATE_API": "lots"},
            "RATE_API must be a rate such as 60/hour (N/second, minute, hour or day), not 'lots'",
        ),
        ({"RATE_WEBHOOKS": "0/minute"}, "RATE_WEBHOOKS must be a rate such as 60/hour"),
        ({"RATE_LECTURE_REQUESTS": "5/week"}, "RATE_LECTURE_REQUESTS must be a rate"),
        ({"CACHE_URL": "memcached://x"}, "CACHE_URL must be db:// (the database) or redis://…"),
        (
            {"CLERK_WEBHOOK_SECRET": "whsec_not base64!"},
            "CLERK_WEBHOOK_SECRET is not a Svix signing secret (whsec_…)",
        ),
        ({"USER_ACTIVE_DOWNLOADS": "0"}, "USER_ACTIVE_DOWNLOADS must be at least 1, not 0"),
    ],
    ids=["rate", "zero-rate", "period", "cache-url", "webhook-secret", "active-downloads"],
)
def test_a_bad_limit_setting_stops_start_up_with_one_line(env, message):
    result = manage("check", **{**PRODUCTION, **env})

    assert result.returncode == 2
    assert result.stderr.startswith(f"configuration error: {message}")
    assert result.stderr.count("\n") == 1


PRINT_LIMITS = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'cache': s.CACHES['default'], 'store': s.RATE_LIMIT_STORE, "
    "'rates': s.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'], "
    "'quota': s.USER_DOCUMENT_QUOTA_BYTES, 'downloads': s.USER_ACTIVE_DOWNLOADS}))"
)


def test_by_default_the_limits_count_in_the_database_and_the_cache_is_there_too():
    result = run_python(PRINT_LIMITS, **PRODUCTION)

    assert result.returncode == 0, result.stderr
    limits = json.loads(result.stdout)
    assert limits["cache"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    assert limits["cache"]["LOCATION"] == "studybuddy_cache"
    assert limits["store"] == "db://"
    assert limits["rates"] == {
        "lecture_requests": "60/hour",
        "document_uploads": "120/hour",
        "transcriptions": "20/hour",
        "api": "3000/hour",
        "webhooks": "600/minute",
        "assistant_messages": "60/hour",
    }
    assert (limits["quota"], limits["downloads"]) == (2 * 1024**3, 5)


def test_rates_and_a_redis_cache_come_from_the_environment():
    env = {**PRODUCTION, "CACHE_URL": "redis://127.0.0.1:6379/3", "RATE_API": "100/m"}

    result = run_python(PRINT_LIMITS, **env)

    limits = json.loads(result.stdout)
    assert limits["cache"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert limits["cache"]["LOCATION"] == "redis://127.0.0.1:6379/3"
    assert limits["store"] == "redis://127.0.0.1:6379/3"
    assert limits["rates"]["api"] == "100/minute"


@pytest.mark.django_db
def test_migrate_created_the_cache_table():
    assert "studybuddy_cache" in connection.introspection.table_names()


def _embedded_sqlite(database: Path, **settings: str) -> dict[str, str]:
    """The environment of ``make run``'s embedded SQLite database at ``database``."""
    return {
        "DJANGO_SETTINGS_MODULE": "studybuddy.settings.local",
        "DATABASE_URL": f"sqlite:///{database}",
        **settings,
    }


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """``migrate`` of a new embedded SQLite database, once for the module (it takes several
    seconds): its result and the database, which tests copy before they write to it."""
    database = tmp_path_factory.mktemp("sqlite") / "studybuddy.sqlite3"
    return manage("migrate", "--no-input", **_embedded_sqlite(database)), database


def _copy_of(database: Path, tmp_path: Path) -> Path:
    copy = tmp_path / database.name
    shutil.copyfile(database, copy)
    return copy


def test_migrate_creates_the_cache_table_on_the_embedded_sqlite_too(migrated_sqlite, tmp_path):
    migrated, database = migrated_sqlite
    database = _copy_of(database, tmp_path)

    counted = run_python(
        "import django; django.setup(); from django.core.cache import cache; "
        "cache.set('k', 41); print(cache.get('k') + 1)",
        **_embedded_sqlite(database),
    )

    assert migrated.returncode == 0, migrated.stderr
    tables = sqlite3.connect(database).execute("SELECT name FROM sqlite_master").fetchall()
    assert ("studybuddy_cache",) in tables
    assert counted.stdout.strip() == "42", counted.stderr


def test_the_rate_limits_count_on_the_embedded_sqlite_too(migrated_sqlite, tmp_path):
    migrated, database = migrated_sqlite
    database = _copy_of(database, tmp_path)

    # 2/minute from a fixed moment: two pass, the third waits 30 s, a minute later one more.
    counted = run_python(
        "import django; django.setup(); from core.ratelimits import rate_limit_store; "
        "s = rate_limit_store(); "
        "print([s.spend('k', now=t, interval=30.0, period=60.0) "
        "for t in (100.0, 100.0, 100.0, 160.0)])",
        **_embedded_sqlite(database),
    )

    assert migrated.returncode == 0, migrated.stderr
    assert counted.stdout.strip() == "[None, None, 30.0, None]", counted.stderr
