"""The transcript's models move here from ``lectures`` (where migrations 0004 and 0005
created them): state only, the tables and their rows stay (``0002`` renames the tables)."""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('lectures', '0005_transcript_search'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Transcript',
                    fields=[
                        ('lecture', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='transcript', serialize=False, to='lectures.lecture')),
                        ('status', models.CharField(choices=[('none', 'None'), ('queued', 'Queued'), ('transcribing', 'Transcribing'), ('completed', 'Completed'), ('failed', 'Failed')], default='none', max_length=16)),
                        ('progress', models.PositiveSmallIntegerField(default=0)),
                        ('error_message', models.TextField(blank=True)),
                        ('source', models.CharField(choices=[('provider', 'Provider'), ('captions', 'Captions')], default='provider', max_length=16)),
                        ('model', models.CharField(blank=True, help_text="The provider's model.", max_length=100)),
                        ('language', models.CharField(blank=True, max_length=32)),
                        ('segment_count', models.PositiveIntegerField(default=0)),
                        ('attempt_count', models.PositiveIntegerField(default=0, help_text='Times a worker started this transcript since it was last queued.')),
                        ('claim_token', models.UUIDField(blank=True, editable=False, null=True)),
                        ('heartbeat_at', models.DateTimeField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('completed_at', models.DateTimeField(blank=True, null=True)),
                    ],
                    options={
                        'db_table': 'lectures_transcript',
                        'indexes': [models.Index(fields=['status', 'heartbeat_at'], name='transcript_status_hb')],
                        'constraints': [models.CheckConstraint(condition=models.Q(('progress__lte', 100)), name='transcript_progress_at_most_100'), models.CheckConstraint(condition=models.Q(('status__in', ['none', 'queued', 'transcribing', 'completed', 'failed'])), name='transcript_status_valid')],
                    },
                ),
                migrations.CreateModel(
                    name='TranscriptChunk',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('index', models.PositiveIntegerField()),
                        ('plan', models.CharField(max_length=200)),
                        ('offset_seconds', models.FloatField()),
                        ('duration_seconds', models.FloatField()),
                        ('answer', models.JSONField()),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('lecture', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='transcript_chunks', to='lectures.lecture')),
                    ],
                    options={
                        'db_table': 'lectures_transcriptchunk',
                        'ordering': ['lecture', 'index'],
                        'constraints': [models.UniqueConstraint(fields=('lecture', 'index'), name='unique_transcript_chunk')],
                    },
                ),
                migrations.CreateModel(
                    name='TranscriptSegment',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('index', models.PositiveIntegerField(help_text='From 0, in time order.')),
                        ('start', models.FloatField()),
                        ('end', models.FloatField()),
                        ('text', models.TextField()),
                        ('search_vector', django.contrib.postgres.search.SearchVectorField(editable=False, null=True)),
                        ('lecture', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='transcript_segments', to='lectures.lecture')),
                    ],
                    options={
                        'db_table': 'lectures_transcriptsegment',
                        'ordering': ['lecture', 'index'],
                        'indexes': [django.contrib.postgres.indexes.GinIndex(fields=['search_vector'], name='transcript_segment_search')],
                        'constraints': [models.UniqueConstraint(fields=('lecture', 'index'), name='unique_transcript_segment'), models.CheckConstraint(condition=models.Q(('start__gte', 0), ('end__gte', models.F('start'))), name='transcript_segment_times_ordered')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
