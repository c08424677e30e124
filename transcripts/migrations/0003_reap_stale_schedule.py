"""The django-q2 schedule that runs the stale-transcript reaper every five minutes."""

from django.db import migrations

NAME = "reap stale transcripts"


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME,
        defaults={
            "func": "transcripts.tasks.reap_stale_transcripts",
            "schedule_type": "I",  # every `minutes` minutes
            "minutes": 5,
            "repeats": -1,
        },
    )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("transcripts", "0002_tables_renamed"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
