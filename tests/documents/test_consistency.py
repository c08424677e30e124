"""Storage and database stay in step when either fails; /readyz sees the storage."""

from __future__ import annotations

import pytest
from django.db import connection

from documents.models import Document
from tests.documents.helpers import S3_BUCKET, s3_storage_config, stored_keys, upload
from tests.documents.helpers import assert_nothing_stored as assert_clean

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage_backend")]


@pytest.fixture
def broken_storage(storage_backend, settings, tmp_path, request):
    """Point the default storage at one that cannot be written, for real.

    Local: its root lies under a regular file. S3: its bucket does not exist.
    Yields a function that restores the test's working storage.
    """
    working = settings.STORAGES
    if storage_backend == "s3":
        endpoint = request.getfixturevalue("s3_server").endpoint_url
        broken = s3_storage_config(endpoint, bucket=f"{S3_BUCKET}-missing")
    else:
        (tmp_path / "not-a-directory").write_text("")
        broken = {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "not-a-directory" / "media")},
        }
    settings.STORAGES = {**working, "default": broken}

    def restore() -> None:
        settings.STORAGES = working

    return restore


def test_a_failed_storage_write_leaves_no_row_and_answers_503(alice_client, course, broken_storage):
    response = upload(alice_client, course=course)

    assert response.status_code == 503
    assert response.json() == {
        "detail": "File storage is unavailable; try again later.",
        "code": "unavailable",
    }
    broken_storage()
    assert_clean()


@pytest.fixture
def failing_document_insert():
    """A real database failure: a trigger that refuses every new document row."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE FUNCTION test_refuse_document() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'injected failure: documents are read-only'; END
            $$ LANGUAGE plpgsql;
            CREATE TRIGGER test_refuse_document BEFORE INSERT ON documents_document
            FOR EACH ROW EXECUTE FUNCTION test_refuse_document();
            """
        )
    # The test's transaction rolls back, taking the trigger with it.


def test_a_failed_row_insert_removes_the_stored_file(
    client_for, alice, course, failing_document_insert
):
    client = client_for(alice)
    client.raise_request_exception = False

    response = upload(client, course=course)

    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error.", "code": "server_error"}
    assert_clean()


def test_readyz_writes_and_removes_a_probe_file(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"]["storage"] == "ok"
    assert stored_keys() == []


def test_readyz_is_503_when_storage_cannot_be_written(client, broken_storage):
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["storage"] == "failed"


def test_a_missing_stored_file_is_404_not_a_crash(alice_client, course):
    from core.storage import storage_delete

    document = Document.objects.get(pk=upload(alice_client, course=course).json()["id"])
    storage_delete(document.storage_key)

    response = alice_client.get(f"/api/documents/{document.id}/file")

    assert response.status_code == 404
    assert response.json() == {"detail": "The stored file is missing.", "code": "not_found"}
