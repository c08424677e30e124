"""Migration operations the apps share."""

from django.db import migrations


class AddIndexOnPostgreSQL(migrations.AddIndex):
    """A GIN index exists on PostgreSQL only: the embedded SQLite of `make run` has no
    full-text search (search vector columns stay empty there), and no GIN."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
