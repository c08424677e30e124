"""Passages follow their sources: rebuilt in the transaction that replaced a transcript's
segments or a document's pages, deleted with their source by the foreign keys.

Every writer of a source's passages takes the source's embedding row lock first: the
rebuild (``search.passages``), the embedding job's writes (``Job.holding_claim``) and a
deletion of the source (below, before the cascade deletes the passages). Taken in one
order, the locks never leave two writers each waiting for the other."""

from django.db.models.signals import pre_delete
from django.dispatch import receiver

from documents.models import Document
from documents.signals import pages_replaced
from lectures.models import Lecture
from search.passages import passages_rebuild_document, passages_rebuild_lecture
from search.services import embedding_lock_for_source
from transcripts.signals import segments_replaced


@receiver(segments_replaced, dispatch_uid="search.lecture_passages")
def rebuild_lecture_passages(sender, lecture_id, **kwargs) -> None:
    passages_rebuild_lecture(lecture_id=lecture_id)


@receiver(pages_replaced, dispatch_uid="search.document_passages")
def rebuild_document_passages(sender, document_id, **kwargs) -> None:
    passages_rebuild_document(document_id=document_id)


@receiver(pre_delete, sender=Lecture, dispatch_uid="search.lecture_deleted")
def lock_deleted_lectures_embedding(sender, instance: Lecture, **kwargs) -> None:
    embedding_lock_for_source(lecture_id=instance.pk)


@receiver(pre_delete, sender=Document, dispatch_uid="search.document_deleted")
def lock_deleted_documents_embedding(sender, instance: Document, **kwargs) -> None:
    embedding_lock_for_source(document_id=instance.pk)
