"""The django-q2 schedule that runs the stale-embedding reaper every five minutes."""

from django.db import migrations

from core.migration_operations import ScheduleTask


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        ScheduleTask("reap stale embeddings", "search.tasks.reap_stale_embeddings", minutes=5)
    ]
