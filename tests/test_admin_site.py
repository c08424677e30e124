"""Every admin page renders for staff, links reach the stored files, and only staff get in."""

from __future__ import annotations

import uuid

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ, Schedule, Task
from django_q.tasks import async_task

from accounts.models import DeletedClerkUser, WebhookDelivery
from core.storage import storage_delete
from courses.models import Enrollment
from lectures.models import LectureLink
from tests.admin.conftest import completed_lecture, failed_lecture, stored_document
from tests.factories import EnrollmentFactory, UserFactory
from tests.lectures.factories import LectureLinkFactory

pytestmark = pytest.mark.django_db


def _url(model, page: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}", args=args)


@pytest.fixture
def one_of_everything():
    """At least one row of every model the admin shows (the task pages included)."""
    lecture = completed_lecture()
    failed_lecture(course=lecture.course)
    LectureLinkFactory(lecture=lecture)
    EnrollmentFactory(course=lecture.course)
    stored_document(course=lecture.course)
    Group.objects.create(name="Moderators")
    Schedule.objects.create(name="tick", func="math.floor", args="1", schedule_type="I")
    now = timezone.now()
    for success in (True, False):
        Task.objects.create(
            id=uuid.uuid4().hex,
            name=f"lecture {lecture.id}",
            func="lectures.tasks.process_lecture",
            started=now,
            stopped=now,
            success=success,
        )
    async_task("lectures.tasks.process_lecture", str(lecture.id))
    assert OrmQ.objects.exists()
    DeletedClerkUser.objects.create(clerk_id="user_gone", deleted_at_ms=1_700_000_000_000)
    WebhookDelivery.objects.create(svix_id="msg_1", event_type="user.deleted", outcome="deleted")


def _registered_models():
    return sorted(admin.site._registry, key=lambda model: model._meta.label)


@pytest.mark.parametrize("model", _registered_models(), ids=lambda model: model._meta.label)
def test_each_changelist_and_change_page_renders_for_staff(staff_client, one_of_everything, model):
    changelist = staff_client.get(_url(model, "changelist"))
    assert changelist.status_code == 200
    obj = admin.site._registry[model].get_queryset(changelist.wsgi_request).first()
    assert obj is not None, f"no {model._meta.label} row to open"

    change = staff_client.get(_url(model, "change", obj.pk))

    assert change.status_code == 200


def test_every_app_model_and_the_task_pages_are_registered():
    labels = {model._meta.label for model in admin.site._registry}
    assert {
        "accounts.User",
        "courses.Course",
        "lectures.Lecture",
        "lectures.LectureLink",
        "documents.Document",
        "django_q.Success",
        "django_q.Failure",
        "django_q.OrmQ",
        "django_q.Schedule",
    } <= labels


def test_the_index_links_to_the_task_pages_and_wears_the_branding(staff_client):
    response = staff_client.get(reverse("admin:index"))

    body = response.content.decode()
    assert response.status_code == 200
    assert "StudyBuddy administration" in body
    for page in ("success", "failure", "ormq", "schedule"):
        assert reverse(f"admin:django_q_{page}_changelist") in body
    assert reverse("admin:lectures_lecture_changelist") + "?status__exact=failed" in body


def test_the_lecture_page_shows_its_linked_users_and_its_whole_error(staff_client):
    lecture = failed_lecture(error_message="HTTP 403 from the source. " + "x" * 300 + " END")
    link = LectureLinkFactory(lecture=lecture, user=UserFactory(email="carol@example.com"))

    body = staff_client.get(_url(type(lecture), "change", lecture.pk)).content.decode()

    assert "carol@example.com" in body
    assert link.user.clerk_id in body
    assert "x" * 300 + " END" in body
    assert "secret" not in body  # the signed stream URL is never shown


def test_the_lecture_list_shows_status_course_users_duration_size_and_a_short_error(
    staff_client,
):
    lecture = completed_lecture()
    failed = failed_lecture(course=lecture.course, error_message="e" * 200)
    LectureLinkFactory.create_batch(3, lecture=lecture)

    body = staff_client.get(_url(type(lecture), "changelist")).content.decode()

    assert lecture.course.code in body
    assert "completed" in body and "failed" in body
    assert '<td class="field-linked_users_count">3</td>' in body
    assert "1:02:05" in body  # duration
    assert "e" * 59 + "…" in body and "e" * 61 not in body
    assert failed.title in body


def test_a_running_lecture_shows_its_progress(staff_client):
    lecture = failed_lecture()
    lecture.status, lecture.progress, lecture.error_message = "downloading", 42, ""
    lecture.save()

    body = staff_client.get(_url(type(lecture), "changelist")).content.decode()

    assert "downloading 42 %" in body


def test_staff_play_a_lecture_audio_from_its_page(staff_client):
    lecture = completed_lecture()
    audio_url = reverse("admin:lectures_lecture_audio", args=[lecture.pk])
    assert audio_url in staff_client.get(_url(type(lecture), "change", lecture.pk)).content.decode()

    response = staff_client.get(audio_url, HTTP_RANGE="bytes=0-11")

    assert response.status_code == 206
    assert response["Content-Type"] == "audio/mp4"
    assert b"".join(response.streaming_content) == b"\x00\x00\x00\x20ftypM4A "


def test_a_lecture_without_audio_has_no_audio_page(staff_client):
    lecture = failed_lecture()

    response = staff_client.get(reverse("admin:lectures_lecture_audio", args=[lecture.pk]))

    assert response.status_code == 404


def test_staff_open_a_document_file_from_its_page(staff_client):
    document = stored_document(original_filename="Lecture notes.pdf")
    file_url = reverse("admin:documents_document_file", args=[document.pk])
    page = staff_client.get(_url(type(document), "change", document.pk)).content.decode()
    assert file_url in page
    assert document.sha256 in page and document.storage_key in page

    response = staff_client.get(file_url)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    assert 'filename="Lecture notes.pdf"' in response["Content-Disposition"]


def test_a_document_whose_file_is_missing_answers_404(staff_client):
    document = stored_document()
    storage_delete(document.storage_key)

    response = staff_client.get(reverse("admin:documents_document_file", args=[document.pk]))

    assert response.status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/lectures/lecture/",
        "/admin/documents/document/",
        "/admin/django_q/failure/",
    ],
)
def test_a_student_is_sent_to_the_login_page(client, path):
    student = UserFactory(is_staff=False)
    client.force_login(student)

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_a_student_cannot_fetch_a_stored_file_through_the_admin(client):
    document = stored_document()
    client.force_login(document.owner)

    response = client.get(reverse("admin:documents_document_file", args=[document.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_an_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get("/admin/lectures/lecture/")

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_staff_add_a_student_to_a_course_from_the_course_page(staff_client):
    lecture = completed_lecture()
    course = lecture.course
    student = UserFactory()
    url = _url(type(course), "change", course.pk)
    form = {
        "code": course.code,
        "title": course.title,
        "instructor": course.instructor,
        "is_official": "on",
        "enrollments-TOTAL_FORMS": "0",
        "enrollments-INITIAL_FORMS": "0",
        "enrollments-2-TOTAL_FORMS": "1",
        "enrollments-2-INITIAL_FORMS": "0",
        "enrollments-2-0-user": str(student.pk),
        "enrollments-2-0-course": str(course.pk),
        "links-TOTAL_FORMS": "0",
    }

    response = staff_client.post(url, form)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Enrollment.objects.filter(course=course, user=student).exists()
    course.refresh_from_db()
    assert course.is_official
    assert LectureLink.objects.count() == 0
