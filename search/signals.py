"""Passages follow their sources: rebuilt in the transaction that replaced a transcript's
segments or a document's pages (deleted with their source by the foreign keys)."""

from django.dispatch import receiver

from documents.signals import pages_replaced
from search.passages import passages_rebuild_document, passages_rebuild_lecture
from transcripts.signals import segments_replaced


@receiver(segments_replaced, dispatch_uid="search.lecture_passages")
def rebuild_lecture_passages(sender, lecture_id, **kwargs) -> None:
    passages_rebuild_lecture(lecture_id=lecture_id)


@receiver(pages_replaced, dispatch_uid="search.document_passages")
def rebuild_document_passages(sender, document_id, **kwargs) -> None:
    passages_rebuild_document(document_id=document_id)
