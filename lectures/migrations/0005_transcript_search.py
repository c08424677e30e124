# Transcript segments become searchable (SPEC 13): a full-text vector per segment, written
# with its text, and its GIN index (PostgreSQL only; the embedded SQLite has neither).
# Segments stored before this migration get their vector here.

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.conf import settings
from django.db import migrations

from core.migration_operations import AddIndexOnPostgreSQL


def vectors_of_existing_segments(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # The same text the parser sees at insert time (core.fulltext.for_parser): angle
    # brackets replaced, so `vector<int>` is indexed as words.
    schema_editor.execute(
        "UPDATE lectures_transcriptsegment SET search_vector = to_tsvector(%s::regconfig, "
        "translate(text, '<>', chr(14) || chr(15)))",
        [settings.SEARCH_CONFIG],
    )


class Migration(migrations.Migration):

    dependencies = [
        ('lectures', '0004_transcripts'),
    ]

    operations = [
        migrations.AddField(
            model_name='transcriptsegment',
            name='search_vector',
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        AddIndexOnPostgreSQL(
            model_name='transcriptsegment',
            index=django.contrib.postgres.indexes.GinIndex(fields=['search_vector'], name='transcript_segment_search'),
        ),
        migrations.RunPython(vectors_of_existing_segments, migrations.RunPython.noop),
    ]
