from django.apps import AppConfig


class LecturesConfig(AppConfig):
    name = "lectures"
    verbose_name = "Lectures"

    def ready(self) -> None:
        from django.conf import settings

        from core.orphans import StorageKeyOwner, register_storage_keys
        from core.selectors import job_kind_register, job_row_kind
        from lectures import checks, selectors, signals  # noqa: F401 - connect checks, receivers
        from lectures.models import Lecture

        job_kind_register(
            job_row_kind(
                Lecture,
                name="audio",
                shown_on="lectures.Lecture",
                object_id="pk",
                label="title",
                retry_action="retry_download",
                failed_filter="status__exact=failed",
            )
        )

        register_storage_keys(
            StorageKeyOwner(
                name="lecture audio",
                prefix=lambda: settings.AUDIO_STORAGE_PREFIX,
                referenced=selectors.lecture_audio_keys,
                in_flight=selectors.lecture_audio_keys_in_flight,
            )
        )
        register_storage_keys(
            StorageKeyOwner(
                name="lecture uploads",
                prefix=lambda: settings.LECTURE_UPLOAD_STORAGE_PREFIX,
                referenced=selectors.lecture_staged_upload_keys,
            )
        )
