"""A document's text job gets a row of its own, ``DocumentText`` (one per document, its
primary key the document's), as a lecture's transcript has: the ``text_*`` columns of
``documents_document`` move there, every document's values with them, and are then
dropped. Back, the values return to the columns."""

import django.db.models.deletion
from django.db import migrations, models

# Old column on the document → new column on its text row.
MOVED = {
    "text_status": "status",
    "text_error": "error_message",
    "text_attempt_count": "attempt_count",
    "text_claim_token": "claim_token",
    "text_heartbeat_at": "heartbeat_at",
    "page_count": "page_count",
}


def _tables(apps, schema_editor):
    quote = schema_editor.quote_name
    document = apps.get_model("documents", "Document")._meta.db_table
    text = apps.get_model("documents", "DocumentText")._meta.db_table
    return quote, quote(document), quote(text)


def copy_to_text_rows(apps, schema_editor):
    """One INSERT … SELECT (the same SQL on PostgreSQL and SQLite): a completed text is at
    100 % and completed when its document last changed (its last text move)."""
    quote, document, text = _tables(apps, schema_editor)
    columns = ", ".join(quote(new) for new in MOVED.values())
    values = ", ".join(quote(old) for old in MOVED)
    completed = f"{quote('text_status')} = 'completed'"
    schema_editor.execute(
        f"INSERT INTO {text} ({quote('document_id')}, {columns}, {quote('progress')}, "
        f"{quote('completed_at')}, {quote('updated_at')}) "
        f"SELECT {quote('id')}, {values}, CASE WHEN {completed} THEN 100 ELSE 0 END, "
        f"CASE WHEN {completed} THEN {quote('updated_at')} END, {quote('updated_at')} "
        f"FROM {document}"
    )


def copy_to_document_columns(apps, schema_editor):
    quote, document, text = _tables(apps, schema_editor)
    defaults = {"text_status": "'pending'", "text_error": "''", "text_attempt_count": "0"}
    assignments = []
    for old, new in MOVED.items():
        value = (
            f"(SELECT t.{quote(new)} FROM {text} t "
            f"WHERE t.{quote('document_id')} = {document}.{quote('id')})"
        )
        if old in defaults:
            value = f"COALESCE({value}, {defaults[old]})"
        assignments.append(f"{quote(old)} = {value}")
    schema_editor.execute(f"UPDATE {document} SET {', '.join(assignments)}")


class Migration(migrations.Migration):

    dependencies = [
        ('documents', '0002_text'),
    ]

    operations = [
        migrations.CreateModel(
            name='DocumentText',
            fields=[
                ('document', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='text', serialize=False, to='documents.document')),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('extracting', 'Extracting'), ('completed', 'Completed'), ('failed', 'Failed')], default='pending', max_length=16, verbose_name='text status')),
                ('progress', models.PositiveSmallIntegerField(default=0)),
                ('error_message', models.TextField(blank=True)),
                ('attempt_count', models.PositiveIntegerField(default=0, help_text='Times a worker started this job since it was last queued.')),
                ('claim_token', models.UUIDField(blank=True, editable=False, null=True)),
                ('heartbeat_at', models.DateTimeField(blank=True, null=True)),
                ('completed_at', models.DateTimeField(blank=True, null=True)),
                ('page_count', models.PositiveIntegerField(blank=True, help_text='Pages whose text was extracted; empty until then.', null=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'verbose_name': 'document text',
            },
        ),
        migrations.RunPython(copy_to_text_rows, copy_to_document_columns),
        migrations.RemoveConstraint(
            model_name='document',
            name='document_text_status_valid',
        ),
        migrations.RemoveField(
            model_name='document',
            name='page_count',
        ),
        migrations.RemoveField(
            model_name='document',
            name='text_attempt_count',
        ),
        migrations.RemoveField(
            model_name='document',
            name='text_claim_token',
        ),
        migrations.RemoveField(
            model_name='document',
            name='text_error',
        ),
        migrations.RemoveField(
            model_name='document',
            name='text_heartbeat_at',
        ),
        migrations.RemoveField(
            model_name='document',
            name='text_status',
        ),
        migrations.AddConstraint(
            model_name='documenttext',
            constraint=models.CheckConstraint(condition=models.Q(('progress__lte', 100)), name='document_text_progress_at_most_100'),
        ),
        migrations.AddConstraint(
            model_name='documenttext',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['pending', 'extracting', 'completed', 'failed'])), name='document_text_status_valid'),
        ),
    ]
