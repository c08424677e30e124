# Document text (SPEC 12): the text job's fields on Document (existing documents start
# `pending`; `manage.py extract_document_text --missing` extracts them) and one row per page
# with its full-text vector.

import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from core.migration_operations import AddIndexOnPostgreSQL


class Migration(migrations.Migration):

    dependencies = [
        ('courses', '0002_fold_lookalike_course_codes'),
        ('documents', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='DocumentPage',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveIntegerField()),
                ('text', models.TextField(blank=True)),
                ('search_vector', django.contrib.postgres.search.SearchVectorField(editable=False, null=True)),
            ],
            options={
                'ordering': ['document', 'number'],
            },
        ),
        migrations.AddField(
            model_name='document',
            name='page_count',
            field=models.PositiveIntegerField(blank=True, help_text='Pages whose text was extracted; empty until then.', null=True),
        ),
        migrations.AddField(
            model_name='document',
            name='text_attempt_count',
            field=models.PositiveIntegerField(default=0, help_text='Times a worker started the text job since it was last queued.'),
        ),
        migrations.AddField(
            model_name='document',
            name='text_claim_token',
            field=models.UUIDField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='document',
            name='text_error',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='document',
            name='text_heartbeat_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='document',
            name='text_status',
            field=models.CharField(choices=[('pending', 'Pending'), ('extracting', 'Extracting'), ('completed', 'Completed'), ('failed', 'Failed')], default='pending', max_length=16),
        ),
        migrations.AddConstraint(
            model_name='document',
            constraint=models.CheckConstraint(condition=models.Q(('text_status__in', ['pending', 'extracting', 'completed', 'failed'])), name='document_text_status_valid'),
        ),
        migrations.AddField(
            model_name='documentpage',
            name='document',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='pages', to='documents.document'),
        ),
        migrations.AddField(
            model_name='documentpage',
            name='owner',
            field=models.ForeignKey(editable=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        AddIndexOnPostgreSQL(
            model_name='documentpage',
            index=django.contrib.postgres.indexes.GinIndex(fields=['search_vector'], name='document_page_search'),
        ),
        migrations.AddConstraint(
            model_name='documentpage',
            constraint=models.UniqueConstraint(fields=('document', 'number'), name='unique_document_page'),
        ),
        migrations.AddConstraint(
            model_name='documentpage',
            constraint=models.CheckConstraint(condition=models.Q(('number__gte', 1)), name='document_page_from_1'),
        ),
    ]
