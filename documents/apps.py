from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "documents"
    verbose_name = "Documents"

    def ready(self) -> None:
        from django.conf import settings

        from core.orphans import StorageKeyOwner, register_storage_keys
        from documents import checks, selectors, signals  # noqa: F401 - register, connect

        register_storage_keys(
            StorageKeyOwner(
                name="document files",
                prefix=lambda: settings.DOCUMENTS_STORAGE_PREFIX,
                referenced=selectors.document_file_keys,
            )
        )
