from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "documents"
    verbose_name = "Documents"

    def ready(self) -> None:
        from django.conf import settings

        from core.orphans import StorageKeyOwner, register_storage_keys
        from core.selectors import job_kind_register, job_row_kind
        from documents import checks, selectors, signals  # noqa: F401 - register, connect
        from documents.models import DocumentText

        # A document's text is shown, and extracted again, on the document's admin page.
        job_kind_register(
            job_row_kind(
                DocumentText,
                name="text",
                shown_on="documents.Document",
                object_id="document_id",
                label="document__original_filename",
                retry_action="extract_text_again",
                failed_filter="text__status__exact=failed",
            )
        )

        register_storage_keys(
            StorageKeyOwner(
                name="document files",
                prefix=lambda: settings.DOCUMENTS_STORAGE_PREFIX,
                referenced=selectors.document_file_keys,
            )
        )
