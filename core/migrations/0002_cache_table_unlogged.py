"""The cache table becomes UNLOGGED on PostgreSQL: every authenticated request writes its
rate-limit entry there, and a logged table made each of those writes wait for a WAL flush
at commit. What an unlogged table gives up is what a cache can lose: after a crash of
PostgreSQL (not a clean restart) the table starts empty, so the counts start from zero, and
a standby does not have it (rate limits are only counted on the primary anyway)."""

from django.conf import settings
from django.db import migrations

from core.migration_operations import SetUnloggedOnPostgreSQL


class Migration(migrations.Migration):
    dependencies = [("core", "0001_cache_table")]

    operations = [SetUnloggedOnPostgreSQL(settings.DATABASE_CACHE_TABLE)]
