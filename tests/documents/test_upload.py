"""POST /api/documents/upload: PDFs only, streamed, de-duplicated, nothing left on refusal."""

from __future__ import annotations

import pytest
from django.test import override_settings

from documents.models import Document
from tests.concurrency import run_concurrently
from tests.documents.helpers import (
    StreamedUpload,
    assert_nothing_stored,
    document_key,
    make_pdf,
    sha256,
    stored_keys,
    stream_upload,
    upload,
    upload_temp_files,
)
from tests.factories import EnrollmentFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage_backend")]


def document_body(document: Document) -> dict:
    return {
        "id": str(document.id),
        "course_id": str(document.course_id),
        "filename": document.original_filename,
        "size_bytes": document.size_bytes,
        "content_type": "application/pdf",
        "text_status": document.text.public_status,
        "page_count": document.text.page_count,
        "text_error": document.text.error_message,
        "created_at": document.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": document.changed_at.isoformat().replace("+00:00", "Z"),
    }


# --- Success -----------------------------------------------------------------------------


def test_a_pdf_is_stored_under_its_id_and_answers_201(alice_client, alice, course):
    content = make_pdf("lecture one")

    response = upload(alice_client, course=course, content=content, name="Lecture 1.pdf")

    assert response.status_code == 201
    document = Document.objects.get()
    assert response.json() == document_body(document)
    assert (document.owner, document.course, document.original_filename) == (
        alice,
        course,
        "Lecture 1.pdf",
    )
    assert (document.size_bytes, document.sha256) == (len(content), sha256(content))
    assert document.storage_key == document_key(document.id)
    assert stored_keys() == [document.storage_key]
    assert upload_temp_files() == []


def test_the_metadata_never_shows_the_storage_key_or_checksum(alice_client, course):
    body = upload(alice_client, course=course).json()

    assert "storage_key" not in body
    assert "sha256" not in body
    assert not any("documents/" in str(value) for value in body.values())


def test_the_declared_content_type_does_not_matter_for_a_real_pdf(alice_client, course):
    response = upload(alice_client, course=course, content_type="application/octet-stream")

    assert response.status_code == 201


def test_the_extension_is_case_insensitive(alice_client, course):
    response = upload(alice_client, course=course, name="SCAN.PDF")

    assert response.status_code == 201
    assert response.json()["filename"] == "SCAN.PDF"


def test_a_file_of_exactly_the_limit_is_accepted(alice_client, course, settings):
    content = make_pdf(padding=1000)
    settings.DOCUMENT_MAX_BYTES = len(content)

    response = upload(alice_client, course=course, content=content)

    assert response.status_code == 201
    assert Document.objects.get().size_bytes == len(content)


# --- De-duplication ------------------------------------------------------------------------


def test_the_same_bytes_again_answer_200_with_the_existing_document(alice_client, course):
    content = make_pdf()
    first = upload(alice_client, course=course, content=content, name="first.pdf")

    second = upload(alice_client, course=course, content=content, name="renamed.pdf")

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json() == first.json()
    assert second.json()["filename"] == "first.pdf"
    assert Document.objects.count() == 1
    assert stored_keys() == [document_key(first.json()["id"])]


def test_the_same_bytes_in_another_course_are_another_document(alice_client, alice, course):
    other = EnrollmentFactory(user=alice).course
    content = make_pdf()

    first = upload(alice_client, course=course, content=content)
    second = upload(alice_client, course=other, content=content)

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]
    assert len(stored_keys()) == 2


def test_the_same_bytes_from_another_user_are_another_document(
    alice_client, bob_client, bob, course
):
    EnrollmentFactory(user=bob, course=course)
    content = make_pdf()

    first = upload(alice_client, course=course, content=content)
    second = upload(bob_client, course=course, content=content)

    assert (first.status_code, second.status_code) == (201, 201)
    assert Document.objects.filter(owner=bob).count() == 1
    assert len(stored_keys()) == 2


def test_sixteen_concurrent_identical_uploads_make_one_document_and_one_file(
    transactional_db, client_for
):
    user = UserFactory()
    course = EnrollmentFactory(user=user).course
    content = make_pdf()
    clients = [client_for(user) for _ in range(16)]

    responses = run_concurrently(
        16, lambda i: upload(clients[i], course=course, content=content, name=f"copy {i}.pdf")
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * 15 + [201]
    document = Document.objects.get()
    assert {response.json()["id"] for response in responses} == {str(document.id)}
    assert stored_keys() == [document.storage_key]
    assert upload_temp_files() == []


# --- Refusals: each leaves no row, no stored file, no temporary file ---------------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


@pytest.mark.parametrize(
    ("name", "content", "detail"),
    [
        ("photo.pdf", PNG, "The file is not a PDF (it does not start with %PDF-)."),
        ("page.pdf", HTML, "The file is not a PDF (it does not start with %PDF-)."),
        ("tiny.pdf", b"%PD", "The file is not a PDF (it does not start with %PDF-)."),
        ("notes.txt", None, "Only PDF files can be uploaded: the name must end in .pdf."),
        ("notes.pdf.exe", None, "Only PDF files can be uploaded: the name must end in .pdf."),
        ("notes", None, "Only PDF files can be uploaded: the name must end in .pdf."),
    ],
    ids=["png-named-pdf", "html-named-pdf", "truncated-magic", "pdf-named-txt", "exe", "no-ext"],
)
def test_anything_but_a_pdf_named_pdf_is_415(alice_client, course, name, content, detail):
    response = upload(alice_client, course=course, name=name, content=content)

    assert response.status_code == 415
    assert response.json() == {"detail": detail, "code": "unsupported_media_type"}
    assert_nothing_stored()


def test_a_pdf_sent_as_json_is_415(alice_client, course):
    response = alice_client.post(
        "/api/documents/upload", {"course_id": str(course.id), "file": "JVBERi0="}, format="json"
    )

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert_nothing_stored()


def test_an_empty_file_is_400_on_file(alice_client, course):
    response = upload(alice_client, course=course, content=b"")

    assert response.status_code == 400
    assert response.json() == {
        "detail": "Invalid input.",
        "code": "empty",
        "errors": {"file": ["The submitted file is empty."]},
        "file": ["The submitted file is empty."],
    }
    assert_nothing_stored()


def test_a_missing_file_is_400_on_file(alice_client, course):
    response = upload(alice_client, course=course, with_file=False)

    assert response.status_code == 400
    assert response.json() == {
        "detail": "Invalid input.",
        "code": "required",
        "errors": {"file": ["No file was submitted."]},
        "file": ["No file was submitted."],
    }
    assert_nothing_stored()


def test_a_missing_course_id_is_400_on_course_id(alice_client, course):
    response = upload(alice_client, course=course, with_course=False)

    assert response.status_code == 400
    assert response.json() == {
        "detail": "Invalid input.",
        "code": "required",
        "errors": {"course_id": ["This field is required."]},
        "course_id": ["This field is required."],
    }
    assert_nothing_stored()


@pytest.mark.parametrize("course_id", ["not-a-uuid", "", "1234", "' OR 1=1 --"])
def test_a_malformed_course_id_is_400_on_course_id(alice_client, course, course_id):
    response = upload(alice_client, course=course, course_id=course_id)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] in {"invalid", "required"}
    assert list(body["errors"]) == ["course_id"]
    assert body["course_id"] == body["errors"]["course_id"]
    assert_nothing_stored()


def test_a_course_the_caller_is_not_enrolled_in_is_400_on_course_id(alice_client, bob):
    someone_elses = EnrollmentFactory(user=bob).course

    response = upload(alice_client, course=someone_elses)

    assert response.status_code == 400
    assert response.json() == {
        "detail": "You are not enrolled in this course.",
        "code": "invalid",
        "errors": {"course_id": ["You are not enrolled in this course."]},
        "course_id": ["You are not enrolled in this course."],
    }
    assert_nothing_stored()


def test_an_unknown_course_is_400_on_course_id(alice_client, course):
    response = upload(alice_client, course=course, course_id="7b0e7c1e-38a3-4a86-9a3b-2f00f3f6a5d0")

    assert response.status_code == 400
    assert response.json()["errors"] == {"course_id": ["You are not enrolled in this course."]}
    assert_nothing_stored()


def test_two_file_parts_are_400(alice_client, course):
    from tests.documents.helpers import BOUNDARY, multipart

    body = multipart(
        {"course_id": str(course.id)},
        [
            ("file", "a.pdf", make_pdf(), "application/pdf"),
            ("file", "b.pdf", make_pdf(), "application/pdf"),
        ],
    )
    response = alice_client.generic(
        "POST",
        "/api/documents/upload",
        body,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"file": ["Send exactly one file."]}
    assert_nothing_stored()


def test_without_a_token_it_is_401_and_nothing_is_read(api_client, course):
    response = upload(api_client, course=course)

    assert response.status_code == 401
    assert_nothing_stored()


# --- Size limit ----------------------------------------------------------------------------


def test_one_byte_over_the_limit_is_413(alice_client, course, settings):
    content = make_pdf(padding=1000)
    settings.DOCUMENT_MAX_BYTES = len(content) - 1

    response = upload(alice_client, course=course, content=content)

    assert response.status_code == 413
    assert response.json() == {
        "detail": f"The file is larger than the limit of {len(content) - 1} bytes.",
        "code": "too_large",
    }
    assert_nothing_stored()


def test_an_oversized_stream_is_cut_off_just_past_the_limit(
    alice_client, course, settings, monkeypatch
):
    # Switch off the up-front Content-Length check so the streaming check is what stops it.
    monkeypatch.setattr("core.uploads.MULTIPART_OVERHEAD_BYTES", 10**12)
    settings.DOCUMENT_MAX_BYTES = 1024 * 1024
    body = StreamedUpload(course_id=str(course.id), file_size=20 * 1024 * 1024)

    response = stream_upload(alice_client, body)

    assert response.status_code == 413
    assert response.json() == {
        "detail": "The file is larger than the limit of 1048576 bytes.",
        "code": "too_large",
    }
    assert body.bytes_read <= len(body.head) + 1024 * 1024 + 128 * 1024
    assert_nothing_stored()


def test_a_body_just_over_the_limit_is_refused_while_streaming(alice_client, course, settings):
    # Within the framing allowance, so only the streaming check can refuse it.
    settings.DOCUMENT_MAX_BYTES = 1024 * 1024
    body = StreamedUpload(course_id=str(course.id), file_size=1024 * 1024 + 1)

    response = stream_upload(alice_client, body)

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert_nothing_stored()


def test_a_200_mb_stream_is_refused_without_reading_it(alice_client, course):
    body = StreamedUpload(course_id=str(course.id), file_size=200 * 1024 * 1024)

    response = stream_upload(alice_client, body)

    assert response.status_code == 413
    assert response.json() == {
        "detail": "The file is larger than the limit of 52428800 bytes.",
        "code": "too_large",
    }
    assert body.bytes_read == 0  # the declared Content-Length is enough to refuse
    assert_nothing_stored()


@override_settings(DOCUMENT_MAX_BYTES=3 * 1024 * 1024)
def test_a_streamed_upload_is_stored_whole(alice_client, alice, course):
    body = StreamedUpload(course_id=str(course.id), file_size=3 * 1024 * 1024)

    response = stream_upload(alice_client, body)

    assert response.status_code == 201
    document = Document.objects.get()
    assert (document.size_bytes, document.sha256) == (body.file_size, body.expected_sha256())
    assert stored_keys() == [document.storage_key]


# --- File names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\windows\\system.pdf", "system.pdf"),
        ("/abs/path/notes.pdf", "notes.pdf"),
        ("a\x00b.pdf", "ab.pdf"),
        ("tab\tand\x1bescape.pdf", "tabandescape.pdf"),
        ("\u202eevil.pdf", "evil.pdf"),
        ("  spaced   out  .pdf", "spaced out.pdf"),
        ("Übung 3 \u2013 Lösungen 東京.pdf", "Übung 3 \u2013 Lösungen 東京.pdf"),
    ],
)
def test_names_are_cleaned_for_display_and_never_used_as_paths(alice_client, course, sent, shown):
    response = upload(alice_client, course=course, name=sent)

    assert response.status_code == 201
    assert response.json()["filename"] == shown
    document = Document.objects.get()
    assert stored_keys() == [document_key(document.id)]


def test_a_right_to_left_override_cannot_disguise_an_exe(alice_client, course):
    # Displayed as "reportexe.pdf" with the override; without it, it is "reportfdp.exe".
    response = upload(alice_client, course=course, name="report\u202efdp.exe")

    assert response.status_code == 415
    assert_nothing_stored()


def test_a_long_name_is_cut_to_255_characters_keeping_the_extension(alice_client, course):
    response = upload(alice_client, course=course, name="x" * 600 + ".pdf")

    assert response.status_code == 201
    assert response.json()["filename"] == "x" * 251 + ".pdf"


def test_a_5000_character_name_is_a_clear_400_and_stores_nothing(alice_client, course):
    # Django's multipart parser refuses part headers over 1 KiB; a browser never sends such a
    # name (file systems stop at 255 bytes), and names up to ~900 bytes are cut to 255.
    response = upload(alice_client, course=course, name="y" * 5000 + ".pdf")

    assert response.status_code == 400
    assert response.json() == {
        "detail": "Multipart form parse error - Request max total header size exceeded.",
        "code": "parse_error",
    }
    assert_nothing_stored()


def test_a_name_that_is_only_an_extension_gets_a_stem(alice_client, course):
    response = upload(alice_client, course=course, name="../.pdf")

    assert response.status_code == 201
    assert response.json()["filename"] == "document.pdf"
