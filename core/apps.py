from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app shares and no app owns; it imports no app."""

    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django_q.signals import post_execute_in_worker

        from core import checks  # noqa: F401 - registers the system checks
        from core.jobs import keep_message_of_expected_failures

        post_execute_in_worker.connect(
            keep_message_of_expected_failures, dispatch_uid="core.jobs.expected_failures"
        )
