from django.apps import AppConfig


class TranscriptsConfig(AppConfig):
    name = "transcripts"
    verbose_name = "Transcripts"

    def ready(self) -> None:
        from transcripts import signals  # noqa: F401 - connect the receivers
