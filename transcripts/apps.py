from django.apps import AppConfig


class TranscriptsConfig(AppConfig):
    name = "transcripts"
    verbose_name = "Transcripts"

    def ready(self) -> None:
        from core.selectors import job_kind_register, job_row_kind
        from transcripts import checks, receivers  # noqa: F401 - register checks, receivers
        from transcripts.models import Transcript

        # A transcript is shown, and transcribed again, on its lecture's admin page.
        job_kind_register(
            job_row_kind(
                Transcript,
                name="transcript",
                shown_on="lectures.Lecture",
                object_id="lecture_id",
                label="lecture__title",
                retry_action="transcribe_again",
                failed_filter="transcript=failed",
            )
        )
