"""Absurd request bodies get a clear JSON 4xx, never a 500, and store nothing."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, encode_multipart

from courses.models import Course, Enrollment
from documents.models import Document
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def course(alice):
    course = CourseFactory()
    Enrollment.objects.create(user=alice, course=course)
    return course


def test_a_json_body_nested_ten_thousand_levels_deep_is_a_400(alice_client):
    response = alice_client.post(
        "/api/courses", data="[" * 10_000 + "]" * 10_000, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "detail": "JSON parse error - the body is nested too deeply.",
        "code": "parse_error",
    }
    assert not Course.objects.exists()


def test_a_json_number_of_five_thousand_digits_is_a_400(alice_client):
    body = '{"code": "CSC 173", "title": ' + "9" * 5_000 + "}"

    response = alice_client.post("/api/courses", data=body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert not Course.objects.exists()


def multipart(fields: dict[str, object]) -> dict[str, object]:
    return {
        "data": encode_multipart(BOUNDARY, fields),
        "content_type": f"multipart/form-data; boundary={BOUNDARY}",
    }


def test_a_json_body_over_the_memory_limit_is_a_json_413(alice_client, settings):
    body = json.dumps(
        {"code": "CSC 173", "title": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)}
    )

    response = alice_client.post("/api/courses", data=body, content_type="application/json")

    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is too large.", "code": "too_large"}
    assert not Course.objects.exists()


def test_a_multipart_body_with_too_many_fields_is_a_json_400(alice_client, settings, course):
    fields = {f"field{i}": "1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}

    response = alice_client.post(
        "/api/documents/upload", **multipart({"course_id": str(course.id), **fields})
    )

    assert response.status_code == 400
    assert response.json() == {
        "detail": "The request has too many fields.",
        "code": "too_many_fields",
    }
    assert not Document.objects.exists()


def test_a_multipart_body_with_too_many_files_is_a_json_400(alice_client, settings, course):
    files = {
        f"file{i}": SimpleUploadedFile(f"notes{i}.pdf", b"%PDF-1.4 notes")
        for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)
    }

    response = alice_client.post(
        "/api/documents/upload", **multipart({"course_id": str(course.id), **files})
    )

    assert response.status_code == 400
    assert response.json() == {
        "detail": "The request has too many files.",
        "code": "too_many_files",
    }
    assert not Document.objects.exists()


def test_a_malformed_multipart_body_is_a_json_400(alice_client, course):
    response = alice_client.post(
        "/api/documents/upload",
        data=b'--zzz\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n',
        content_type="multipart/form-data; boundary=zzz",
    )

    assert response.status_code == 400
    assert response.json()["code"] in {"parse_error", "required"}
    assert not Document.objects.exists()
