"""Reads of documents: a user sees their own, each read in a constant number of queries."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Max, QuerySet, Sum

from accounts.models import User
from accounts.services import user_is_api_admin
from documents.models import Document


def document_list_for_user(*, user: User, course_id: uuid.UUID | None = None) -> QuerySet[Document]:
    """The user's documents, newest first; optionally those of one course."""
    queryset = Document.objects.filter(owner=user)
    if course_id is not None:
        queryset = queryset.filter(course_id=course_id)
    return queryset.order_by("-created_at", "-id")


def document_get_for_user(*, user: User, document_id: uuid.UUID) -> Document | None:
    """The user's own document, or ``None`` (someone else's is as good as missing)."""
    return Document.objects.filter(owner=user, pk=document_id).first()


def document_get_for_delete(*, user: User, document_id: uuid.UUID) -> Document | None:
    """The document ``user`` may delete: their own, or any when they are an API admin."""
    queryset = Document.objects.filter(pk=document_id)
    if not user_is_api_admin(user):
        queryset = queryset.filter(owner=user)
    return queryset.first()


def document_find_duplicate(*, owner: User, course_id: uuid.UUID, sha256: str) -> Document | None:
    return Document.objects.filter(owner=owner, course_id=course_id, sha256=sha256).first()


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
