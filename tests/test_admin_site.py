"""The admin site as a whole: every registered model's pages render for staff, the index
links the task pages, and only staff get in. (Each app's own pages: tests/<app>/test_admin.py.)"""

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
from search.models import Embedding
from tests.admin_helpers import admin_url, completed_lecture, failed_lecture, stored_document
from tests.factories import EnrollmentFactory, UserFactory
from tests.lectures.factories import LectureLinkFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_of_everything():
    """At least one row of every model the admin shows (the task pages included)."""
    lecture = completed_lecture()
    failed_lecture(course=lecture.course)
    LectureLinkFactory(lecture=lecture)
    EnrollmentFactory(course=lecture.course)
    stored_document(course=lecture.course)
    Embedding.objects.create(lecture=lecture, status="failed", error_message="HTTP 401")
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
    changelist = staff_client.get(admin_url(model, "changelist"))
    assert changelist.status_code == 200
    obj = admin.site._registry[model].get_queryset(changelist.wsgi_request).first()
    assert obj is not None, f"no {model._meta.label} row to open"

    change = staff_client.get(admin_url(model, "change", obj.pk))

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


def test_an_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get("/admin/lectures/lecture/")

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
