"""Stored files follow their rows: every delete path removes the file after commit.
``pages_replaced`` tells other apps that a document's text changed."""

from django.db.models.signals import post_delete
from django.dispatch import Signal, receiver

from core.storage import storage_delete_on_commit
from documents.models import Document

# Sent inside the transaction that changed a document's pages (their text extraction
# started, completed, or was discarded), with ``document_id``: a receiver's writes commit
# with them.
pages_replaced = Signal()


@receiver(post_delete, sender=Document, dispatch_uid="documents.delete_stored_file")
def delete_stored_file(sender, instance: Document, **kwargs) -> None:
    # post_delete also fires for queryset deletes and for cascades (a course, a user), which
    # is how the admin and course deletion leave no orphan files.
    storage_delete_on_commit(instance.storage_key)
