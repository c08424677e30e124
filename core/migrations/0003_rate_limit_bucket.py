"""The rate limits' own table (``core.ratelimits``), UNLOGGED on PostgreSQL as the cache
table is (``0002``): every authenticated request writes its row, and a logged table would
make each of those writes wait for a WAL flush. After a crash of PostgreSQL the counts start
from zero, which is all a rate limit may lose."""

from django.db import migrations, models

from core.migration_operations import SetUnloggedOnPostgreSQL


class Migration(migrations.Migration):
    dependencies = [("core", "0002_cache_table_unlogged")]

    operations = [
        migrations.CreateModel(
            name="RateLimitBucket",
            fields=[
                ("key", models.CharField(max_length=100, primary_key=True, serialize=False)),
                ("empty_at", models.FloatField()),
            ],
            options={"db_table": "core_rate_limit_bucket"},
        ),
        SetUnloggedOnPostgreSQL("core_rate_limit_bucket"),
    ]
