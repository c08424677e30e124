from django.apps import AppConfig


class AssistantConfig(AppConfig):
    """The study assistant: conversations whose answers are written from the student's own
    material, cited, and streamed as they are written."""

    name = "assistant"
    verbose_name = "Study assistant"

    def ready(self) -> None:
        from assistant import checks  # noqa: F401  (system checks)
