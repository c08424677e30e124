"""Reads of documents: a user sees their own, each read in a constant number of queries."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Max, Q, QuerySet, Sum

from accounts.models import User
from accounts.selectors import user_is_api_admin
from core.exceptions import StateConflict
from documents.models import Document, DocumentPage, TextStatus


class DocumentTextNotReady(StateConflict):
    code = "text_not_ready"
    default_detail = "The document's text is not extracted yet."


def document_list_for_user(*, user: User, course_id: uuid.UUID | None = None) -> QuerySet[Document]:
    """The user's documents, newest first; optionally those of one course."""
    queryset = Document.objects.filter(owner=user).select_related("text")
    if course_id is not None:
        queryset = queryset.filter(course_id=course_id)
    return queryset.order_by("-created_at", "-id")


def document_get_for_user(*, user: User, document_id: uuid.UUID) -> Document | None:
    """The user's own document, or ``None`` (someone else's is as good as missing)."""
    return Document.objects.filter(owner=user, pk=document_id).select_related("text").first()


def document_get_for_delete(*, user: User, document_id: uuid.UUID) -> Document | None:
    """The document ``user`` may delete: their own, or any when they are an API admin."""
    queryset = Document.objects.filter(pk=document_id)
    if not user_is_api_admin(user):
        queryset = queryset.filter(owner=user)
    return queryset.first()


def document_find_duplicate(*, owner: User, course_id: uuid.UUID, sha256: str) -> Document | None:
    return (
        Document.objects.filter(owner=owner, course_id=course_id, sha256=sha256)
        .select_related("text")
        .first()
    )


def document_file_keys() -> Iterator[tuple[str, str]]:
    """``(storage key, row label)`` of every document's file (for ``purge_orphans``)."""
    for pk, key in Document.objects.values_list("pk", "storage_key").iterator():
        yield key, f"document {pk}"


def document_quota_left(*, owner: User) -> int:
    """Bytes the owner may still add before ``USER_DOCUMENT_QUOTA_BYTES`` (never negative)."""
    used = Document.objects.filter(owner=owner).aggregate(total=Sum("size_bytes"))["total"] or 0
    return max(settings.USER_DOCUMENT_QUOTA_BYTES - used, 0)


def document_upload_allowance(*, owner: User) -> int:
    """How many bytes an upload may stream in before it is refused for the quota.

    The quota left, or the owner's largest document if that is larger: an upload of the
    same bytes again is a duplicate, which costs nothing, and only its checksum at the end
    can tell. Past the allowance no upload can be a duplicate nor fit.
    """
    largest = Document.objects.filter(owner=owner).aggregate(n=Max("size_bytes"))["n"] or 0
    return max(document_quota_left(owner=owner), largest)


def document_text_pages(*, document: Document) -> QuerySet[DocumentPage]:
    """``(number, text)`` of each page of a document whose text is completed, in order;
    ``DocumentTextNotReady`` (409) while it is pending, or when it failed."""
    text = document.text
    if text.status != TextStatus.COMPLETED:
        if text.status == TextStatus.FAILED:
            raise DocumentTextNotReady(
                f"The document's text could not be extracted: {text.error_message}"
            )
        raise DocumentTextNotReady()
    return (
        DocumentPage.objects.filter(document=document)
        .order_by("number")
        .values_list("number", "text")
    )


def document_list_for_text(
    *, document_ids: list[uuid.UUID], missing: bool, failed: bool
) -> QuerySet[Document]:
    """Documents whose text to extract (again): those named, those never extracted
    (``pending``), those that failed; oldest first."""
    condition = Q(pk__in=document_ids) if document_ids else Q()
    statuses = [TextStatus.PENDING] * missing + [TextStatus.FAILED] * failed
    if statuses:
        wanted = Q(text__status__in=statuses)
        condition = (condition | wanted) if document_ids else wanted
    elif not document_ids:
        return Document.objects.none()
    return (
        Document.objects.filter(condition)
        .select_related("course", "text")
        .order_by("created_at", "id")
    )
