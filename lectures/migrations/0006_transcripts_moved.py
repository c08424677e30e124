"""The transcript's models belong to the ``transcripts`` app (its migration 0001 takes
them over): removed from this app's state only, their tables and rows stay."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("lectures", "0005_transcript_search"),
        ("transcripts", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="TranscriptChunk"),
                migrations.DeleteModel(name="TranscriptSegment"),
                migrations.DeleteModel(name="Transcript"),
            ],
            database_operations=[],
        ),
    ]
