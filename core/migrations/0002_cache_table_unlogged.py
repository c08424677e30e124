"""The cache table becomes UNLOGGED on PostgreSQL: every authenticated request writes its
rate-limit entry there, and a logged table made each of those writes wait for a WAL flush
at commit. What an unlogged table gives up is what a cache can lose: after a crash of
PostgreSQL (not a clean restart) the table starts empty, so the counts start from zero, and
a standby does not have it (rate limits are only counted on the primary anyway)."""

from django.conf import settings
from django.db import migrations


def _set_logged(schema_editor, logged: bool) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(settings.DATABASE_CACHE_TABLE)
    schema_editor.execute(f"ALTER TABLE {table} SET {'LOGGED' if logged else 'UNLOGGED'}")


def unlogged(apps, schema_editor) -> None:
    _set_logged(schema_editor, logged=False)


def logged(apps, schema_editor) -> None:
    _set_logged(schema_editor, logged=True)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_cache_table")]

    operations = [migrations.RunPython(unlogged, logged, elidable=False)]
