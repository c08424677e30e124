from django.apps import AppConfig


class LecturesConfig(AppConfig):
    name = "lectures"
    verbose_name = "Lectures"

    def ready(self) -> None:
        from lectures import signals  # noqa: F401 - connects the receivers
