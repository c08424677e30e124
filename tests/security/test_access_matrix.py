"""Who may touch what, on every route the OpenAPI document lists.

- another user's lecture or document is 404 on every route, exactly as if it did not exist,
  and is left as it was;
- without a valid token every /api/ route is 401 with ``WWW-Authenticate: Bearer``, except
  the schema, the docs and the routes other services call (Clerk's webhook);
- API admins override exactly where the API gives them that power: DELETE of lectures and documents,
  and /api/dev/lectures when DEV_ROUTES_ENABLED. Nowhere else.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from documents.models import Document, document_storage_key
from lectures.models import Lecture, LectureLink
from tests.api_operations import documented_operations, public_operations
from tests.auth import session_claims, sign
from tests.documents.helpers import make_pdf, sha256
from tests.factories import EnrollmentFactory, UserFactory
from tests.lectures.test_api import completed_lecture

pytestmark = pytest.mark.django_db

OPERATIONS = documented_operations()
PUBLIC_OPERATIONS = public_operations()
# Routes on one user's object. Courses are a shared catalogue: anyone may read one.
OBJECT_OPERATIONS = [
    (method, path)
    for method, path in OPERATIONS
    if "{id}" in path and path.startswith(("/api/lectures/", "/api/documents/"))
]
ADMIN_OVERRIDES = {("DELETE", "/api/lectures/{id}"), ("DELETE", "/api/documents/{id}")}
NOT_FOUND = {"detail": "Not found.", "code": "not_found"}


@dataclass
class Belongings:
    course_id: uuid.UUID
    lecture: Lecture
    document: Document

    def url(self, path: str) -> str:
        owner = self.lecture if path.startswith("/api/lectures/") else self.document
        return path.replace("{id}", str(owner.id))

    def intact(self) -> bool:
        return (
            Lecture.objects.filter(pk=self.lecture.pk).exists()
            and LectureLink.objects.filter(lecture=self.lecture).exists()
            and default_storage.exists(self.lecture.audio_storage_key)
            and Document.objects.filter(pk=self.document.pk).exists()
            and default_storage.exists(self.document.storage_key)
        )


@pytest.fixture
def alices(alice) -> Belongings:
    """Alice's course, a completed lecture with its audio, and a document with its file."""
    course = EnrollmentFactory(user=alice).course
    lecture = completed_lecture(alice)
    pdf = make_pdf()
    document_id = uuid.uuid4()
    key = default_storage.save(document_storage_key(document_id), ContentFile(pdf))
    document = Document.objects.create(
        id=document_id,
        owner=alice,
        course=course,
        original_filename="notes.pdf",
        size_bytes=len(pdf),
        sha256=sha256(pdf),
        storage_key=key,
    )
    return Belongings(course_id=course.id, lecture=lecture, document=document)


def call(client, method: str, url: str, **kwargs):
    return getattr(client, method.lower())(url, **kwargs)


def test_the_matrix_covers_the_object_routes():
    assert set(OBJECT_OPERATIONS) >= {
        ("GET", "/api/lectures/{id}"),
        ("GET", "/api/lectures/{id}/status"),
        ("GET", "/api/lectures/{id}/audio"),
        ("POST", "/api/lectures/{id}/retry"),
        ("DELETE", "/api/lectures/{id}"),
        ("GET", "/api/documents/{id}"),
        ("GET", "/api/documents/{id}/file"),
        ("DELETE", "/api/documents/{id}"),
    }
    assert set(OBJECT_OPERATIONS) >= ADMIN_OVERRIDES


# --- another user ----------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), OBJECT_OPERATIONS)
def test_another_users_object_is_404_on_every_route_and_left_alone(
    bob_client, alices, method, path
):
    response = call(bob_client, method, alices.url(path))

    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert alices.intact()


@pytest.mark.parametrize(("method", "path"), OBJECT_OPERATIONS)
def test_another_users_object_answers_like_one_that_does_not_exist(
    bob_client, alices, path, method
):
    unknown = path.replace("{id}", str(uuid.uuid4()))

    theirs = call(bob_client, method, alices.url(path))
    missing = call(bob_client, method, unknown)

    assert (theirs.status_code, theirs.json()) == (missing.status_code, missing.json())


def test_another_users_lectures_documents_and_enrolments_are_not_listed(bob_client, alices):
    course = {"course_id": str(alices.course_id)}

    assert bob_client.get("/api/lectures", course).json()["count"] == 0
    assert bob_client.get("/api/documents", course).json()["count"] == 0
    assert bob_client.get("/api/courses").json()["count"] == 0
    assert bob_client.get(f"/api/courses/{alices.course_id}").json()["enrolled"] is False


def test_leaving_a_course_someone_else_is_in_leaves_their_enrolment(
    bob_client, alice_client, alices
):
    response = bob_client.delete(f"/api/courses/{alices.course_id}/enrollment")

    assert response.status_code == 204
    assert alice_client.get(f"/api/courses/{alices.course_id}").json()["enrolled"] is True


def test_adding_to_another_users_course_is_400_on_course_id(bob_client, alices):
    lecture = bob_client.post(
        "/api/lectures/download",
        {
            "course_id": str(alices.course_id),
            "panopto_url": "https://x.panopto.com/Panopto/Pages/Viewer.aspx?id="
            "6b3c1f4e-1f2a-4c5b-9d8e-0a1b2c3d4e5f",
            "stream_url": "https://d1.cloudfront.net/a.mp4",
        },
        format="json",
    )
    document = bob_client.post(
        "/api/documents/upload",
        {"course_id": str(alices.course_id), "file": ContentFile(make_pdf(), name="a.pdf")},
        format="multipart",
    )

    assert lecture.status_code == 400
    assert "course_id" in lecture.json()["errors"]
    assert document.status_code == 400
    assert "course_id" in document.json()["errors"]
    assert alices.intact()


# --- admins ------------------------------------------------------------------------------


@pytest.fixture(params=["is_staff", "ADMIN_USER_IDS by Clerk id", "ADMIN_USER_IDS by UUID"])
def admin_client(request, client_for, settings):
    if request.param == "is_staff":
        return client_for(UserFactory(is_staff=True))
    admin = UserFactory()
    settings.ADMIN_USER_IDS = [admin.clerk_id if "Clerk" in request.param else str(admin.id)]
    return client_for(admin)


@pytest.mark.parametrize(
    ("method", "path"), [op for op in OBJECT_OPERATIONS if op not in ADMIN_OVERRIDES]
)
def test_an_admin_gets_no_override_beyond_the_spec(admin_client, alices, method, path):
    response = call(admin_client, method, alices.url(path))

    assert response.status_code == 404
    assert alices.intact()


@pytest.mark.parametrize(("method", "path"), sorted(ADMIN_OVERRIDES))
def test_an_admin_deletes_another_users_lecture_or_document(
    admin_client, alices, django_capture_on_commit_callbacks, method, path
):
    with django_capture_on_commit_callbacks(execute=True):
        response = call(admin_client, method, alices.url(path))

    assert response.status_code == 204
    if path.startswith("/api/lectures/"):
        assert not Lecture.objects.filter(pk=alices.lecture.pk).exists()
        assert not default_storage.exists(alices.lecture.audio_storage_key)
    else:
        assert not Document.objects.filter(pk=alices.document.pk).exists()
        assert not default_storage.exists(alices.document.storage_key)


@pytest.mark.parametrize(("enabled", "status"), [(True, 200), (False, 404)])
def test_dev_lectures_is_for_admins_when_dev_routes_are_enabled(
    admin_client, settings, alices, enabled, status
):
    settings.DEV_ROUTES_ENABLED = enabled

    response = admin_client.get("/api/dev/lectures")

    assert response.status_code == status
    if status == 200:
        assert [row["id"] for row in response.json()["results"]] == [str(alices.lecture.id)]


def test_dev_lectures_is_404_for_everyone_else(alice_client, settings, alices):
    settings.DEV_ROUTES_ENABLED = True

    assert alice_client.get("/api/dev/lectures").status_code == 404


# --- anonymous ---------------------------------------------------------------------------


@pytest.fixture(params=["no token", "a token signed by another key", "a malformed header"])
def stranger_headers(request, other_key) -> dict[str, str]:
    if request.param == "no token":
        return {}
    if request.param == "a malformed header":
        return {"HTTP_AUTHORIZATION": "Bearer"}
    token = sign(session_claims("user_alice"), other_key)  # a key the settings do not name
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_the_only_route_without_a_token_is_clerks_webhook():
    assert public_operations() == {("POST", "/api/webhooks/clerk")}


@pytest.mark.parametrize(
    ("method", "path"), [op for op in OPERATIONS if op not in PUBLIC_OPERATIONS]
)
def test_every_api_route_is_401_without_a_valid_token(
    api_client, alices, stranger_headers, method, path
):
    url = alices.url(path) if "{id}" in path and not path.startswith("/api/courses") else path
    url = url.replace("{id}", str(alices.course_id))

    response = call(api_client, method, url, **stranger_headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert set(response.json()) == {"detail", "code"}
    assert alices.intact()


@pytest.mark.parametrize("path", ["/api/schema", "/api/schema/", "/api/docs", "/api/docs/"])
def test_the_schema_and_the_docs_need_no_token(api_client, path):
    assert api_client.get(path).status_code == 200
