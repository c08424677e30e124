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


class SetUnloggedOnPostgreSQL(migrations.operations.base.Operation):
    """Make ``table`` UNLOGGED on PostgreSQL (back: LOGGED); nothing elsewhere. For tables
    written on every request whose rows may be lost in a crash (a cache, rate-limit
    counts): a write then commits without waiting for a WAL flush."""

    reversible = True
    reduces_to_sql = True

    def __init__(self, table: str) -> None:
        self.table = table

    def state_forwards(self, app_label, state):
        """The models do not change."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._set(schema_editor, "UNLOGGED")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._set(schema_editor, "LOGGED")

    def _set(self, schema_editor, persistence: str) -> None:
        if schema_editor.connection.vendor == "postgresql":
            table = schema_editor.quote_name(self.table)
            schema_editor.execute(f"ALTER TABLE {table} SET {persistence}")

    def describe(self) -> str:
        return f"Make {self.table} UNLOGGED on PostgreSQL"

    def deconstruct(self):
        return self.__class__.__qualname__, [self.table], {}


class ScheduleTask(migrations.operations.base.Operation):
    """A django-q2 schedule named ``name`` that runs the task ``func`` every ``minutes``
    minutes, for ever (back: removed). The migration depends on django_q's."""

    reversible = True
    reduces_to_sql = False

    def __init__(self, name: str, func: str, *, minutes: int) -> None:
        self.name = name
        self.func = func
        self.minutes = minutes

    def state_forwards(self, app_label, state):
        """The models do not change."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._schedules(to_state, schema_editor).update_or_create(
            name=self.name,
            defaults={
                "func": self.func,
                "schedule_type": "I",  # every `minutes` minutes
                "minutes": self.minutes,
                "repeats": -1,
            },
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._schedules(to_state, schema_editor).filter(name=self.name).delete()

    @staticmethod
    def _schedules(state, schema_editor):
        schedule = state.apps.get_model("django_q", "Schedule")
        return schedule.objects.using(schema_editor.connection.alias)

    def describe(self) -> str:
        return f"Schedule {self.func} every {self.minutes} minutes"

    def deconstruct(self):
        return self.__class__.__qualname__, [self.name, self.func], {"minutes": self.minutes}
