from django.apps import AppConfig


class TranscriptsConfig(AppConfig):
    name = "transcripts"
    verbose_name = "Transcripts"

    def ready(self) -> None:
        from transcripts import checks, receivers  # noqa: F401 - register checks, receivers
