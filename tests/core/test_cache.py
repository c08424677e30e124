"""The database cache (``core.cache``): Django's, with a one-statement write."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import cache as database_cache

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _database_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.DatabaseCache",
            "LOCATION": settings.DATABASE_CACHE_TABLE,
            "OPTIONS": {"MAX_ENTRIES": 10, "CULL_FREQUENCY": 2},
        }
    }
    cache.clear()


def test_a_value_is_written_in_one_statement_read_and_overwritten(monkeypatch):
    monkeypatch.setattr(database_cache.random, "randrange", lambda n: 1)  # no count this time
    # (the test runs in a transaction: the write gets a savepoint, as it would in one)
    with CaptureQueriesContext(connection) as writes:
        cache.set("bucket", 1.5, 60)
    cache.set("other", {"a": [1, 2]}, None)
    cache.set("bucket", 2.5, 60)

    assert [q["sql"].split()[0] for q in writes] == ["SAVEPOINT", "INSERT", "RELEASE"]
    assert cache.get("bucket") == 2.5
    assert cache.get("other") == {"a": [1, 2]}


def test_an_expired_value_is_gone():
    cache.set("bucket", 1.5, -1)

    assert cache.get("bucket") is None


def test_past_max_entries_the_oldest_are_culled_when_the_table_is_counted(monkeypatch):
    monkeypatch.setattr(database_cache.random, "randrange", lambda n: 0)  # count every time
    for n in range(30):
        cache.set(f"key-{n:02d}", n, 60)

    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM studybuddy_cache")
        assert cursor.fetchone()[0] <= 11
    assert cache.get("key-29") == 29


def test_the_cache_table_is_unlogged_so_a_write_waits_for_no_wal_flush(settings):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relpersistence FROM pg_class WHERE oid = %s::regclass",
            [settings.DATABASE_CACHE_TABLE],
        )
        assert cursor.fetchone()[0] == "u"
