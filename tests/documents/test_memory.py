"""A large upload streams through the server: memory does not grow with the file."""

from __future__ import annotations

import tracemalloc

import pytest

from documents.models import Document
from tests.documents.helpers import StreamedUpload, stored_keys, stream_upload, upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage_backend")]

MiB = 1024 * 1024


def test_a_60_mb_upload_is_never_held_in_memory(alice_client, course, settings):
    settings.DOCUMENT_MAX_BYTES = 64 * MiB
    # A first upload warms the process up as any earlier request would (on S3: boto3 loads
    # its service model, ~10 MiB, once per thread); what is measured is the big one.
    assert upload(alice_client, course=course).status_code == 201
    body = StreamedUpload(course_id=str(course.id), file_size=60 * MiB)
    expected_sha256 = body.expected_sha256()

    tracemalloc.start()
    try:
        response = stream_upload(alice_client, body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert response.status_code == 201
    document = Document.objects.get(pk=response.json()["id"])
    assert (document.size_bytes, document.sha256) == (60 * MiB, expected_sha256)
    assert document.storage_key in stored_keys()
    print(f"peak traced memory during a 60 MiB upload: {peak / MiB:.1f} MiB")
    assert peak < 16 * MiB
