"""The transcript's tables take this app's names, and its content types (and so the
permissions given on them) move with the models."""

from django.db import migrations

MODELS = ("transcript", "transcriptchunk", "transcriptsegment")


def move_content_types(apps, schema_editor, source="lectures", target="transcripts"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        if not ContentType.objects.filter(app_label=target, model=model).exists():
            ContentType.objects.filter(app_label=source, model=model).update(app_label=target)


def move_content_types_back(apps, schema_editor):
    move_content_types(apps, schema_editor, source="transcripts", target="lectures")


class Migration(migrations.Migration):
    dependencies = [
        ("transcripts", "0001_initial"),
        ("lectures", "0006_transcripts_moved"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        *(migrations.AlterModelTable(name=model, table=None) for model in MODELS),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
