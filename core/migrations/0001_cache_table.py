"""The database cache table (``DATABASE_CACHE_TABLE``) that the rate limits count in by
default. ``migrate`` creates no cache table by itself, and ``createcachetable`` is one more
step a deployment could forget: here the release step's ``migrate`` does it. Created even
when ``CACHE_URL`` names Redis, so switching back needs no extra step."""

from django.conf import settings
from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations


def create_cache_table(apps, schema_editor) -> None:
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, settings.DATABASE_CACHE_TABLE, False)


def drop_cache_table(apps, schema_editor) -> None:
    table = schema_editor.quote_name(settings.DATABASE_CACHE_TABLE)
    schema_editor.execute(f"DROP TABLE IF EXISTS {table}")


class Migration(migrations.Migration):
    dependencies = []

    operations = [migrations.RunPython(create_cache_table, drop_cache_table, elidable=False)]
