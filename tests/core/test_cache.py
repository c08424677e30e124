"""The database cache: Django's own, on a table ``migrate`` creates."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _database_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": settings.DATABASE_CACHE_TABLE,
            "OPTIONS": {"MAX_ENTRIES": 10, "CULL_FREQUENCY": 2},
        }
    }
    cache.clear()


def test_a_value_is_written_read_and_overwritten():
    cache.set("stats", {"tasks": 1}, 30)
    cache.set("stats", {"tasks": 2}, 30)

    assert cache.get("stats") == {"tasks": 2}


def test_the_cache_table_is_unlogged_so_a_write_waits_for_no_wal_flush(settings):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relpersistence FROM pg_class WHERE oid = %s::regclass",
            [settings.DATABASE_CACHE_TABLE],
        )
        assert cursor.fetchone()[0] == "u"
