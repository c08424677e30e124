"""The admin's jobs dashboard: every kind of job's counts, its oldest queued row and its
latest failures, on one page whose number of queries does not grow with the jobs."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from assistant.models import Conversation, Message
from documents.models import DocumentText
from lectures.models import Lecture
from search.models import Embedding
from tests.admin_helpers import DocumentFactory, admin_url, failed_lecture
from tests.factories import CourseFactory, UserFactory
from tests.lectures.factories import LectureFactory
from transcripts.models import Transcript

pytestmark = pytest.mark.django_db

JOBS = reverse("admin-jobs")
COLUMNS = ("queued", "running", "failed-recently", "completed", "oldest-queued")


def counts_of(body: str, kind: str) -> dict[str, str]:
    """The cells of ``kind``'s row in the counts table, by column, as shown."""
    row = re.search(rf'<tr id="kind-{kind}">(.*?)</tr>', body, re.S)
    assert row, f"no row for {kind}"
    cells = {}
    for column in COLUMNS:
        cell = re.search(rf'<td class="{column}">(.*?)</td>', row.group(1), re.S)
        cells[column] = re.sub(r"<[^>]+>|\s+", " ", cell.group(1)).strip()
    return cells


def failures_of(body: str, kind: str) -> str:
    section = re.search(rf'<div class="module" id="failures-{kind}">(.*?)</div>', body, re.S)
    assert section, f"no failures of {kind}"
    return section.group(1)


def ago(**delta: float):
    return timezone.now() - timedelta(**delta)


def set_updated_at(row, when) -> None:
    """``updated_at`` is written by every save: set it past them."""
    type(row).objects.filter(pk=row.pk).update(updated_at=when)


def test_each_kind_shows_how_many_jobs_are_in_each_state(staff_client):
    for status in ("queued", "queued", "downloading", "extracting", "completed", "failed"):
        LectureFactory(status=status)
    for status in ("queued", "transcribing", "completed", "completed", "failed", "none"):
        Transcript.objects.create(lecture=LectureFactory(status="completed"), status=status)
    DocumentFactory()  # its text is pending
    extracted = DocumentFactory()
    DocumentText.objects.filter(pk=extracted.pk).update(status="completed")
    Embedding.objects.create(lecture=LectureFactory(status="completed"), status="embedding")
    Embedding.objects.create(document=DocumentFactory(), status="failed")
    conversation = Conversation.objects.create(owner=UserFactory(), title="Cells")
    Message.objects.create(conversation=conversation, role="question", content="ATP?")
    for status in ("streaming", "completed", "completed", "failed"):
        Message.objects.create(conversation=conversation, role="answer", status=status)

    body = staff_client.get(JOBS).content.decode()

    shown = {
        kind: [counts_of(body, kind)[column] for column in COLUMNS[:4]]
        for kind in ("audio", "transcript", "text", "embeddings", "assistant-answers")
    }
    assert shown == {
        # The lectures made for the transcripts and the embedding are completed: 1 + 6 + 1.
        "audio": ["2", "2", "1", "8"],
        "transcript": ["1", "1", "1", "2"],
        # The documents made for the text and the embedding are pending.
        "text": ["2", "0", "0", "1"],
        "embeddings": ["0", "1", "1", "0"],
        # An answer is never queued; a question is no job.
        "assistant-answers": ["—", "1", "1", "2"],
    }


def test_a_failure_older_than_24_hours_is_not_counted_as_recent(staff_client):
    set_updated_at(failed_lecture(), ago(hours=25))
    failed_lecture()

    body = staff_client.get(JOBS).content.decode()

    assert counts_of(body, "audio")["failed-recently"] == "1"


def test_the_oldest_queued_job_shows_how_long_it_has_waited(staff_client):
    set_updated_at(LectureFactory(status="queued"), ago(hours=2, minutes=5))
    LectureFactory(status="queued")

    body = staff_client.get(JOBS).content.decode()

    assert counts_of(body, "audio")["oldest-queued"] == "waiting 2 hours, 5 minutes"
    assert counts_of(body, "transcript")["oldest-queued"] == "—"


def test_the_latest_failure_shows_its_message_and_links_to_its_page(staff_client):
    older = failed_lecture(title="Older", error_message="The source answered HTTP 404.")
    set_updated_at(older, ago(days=3))
    latest = failed_lecture(title="Cell biology 4", error_message="No audio track found.")

    failures = failures_of(staff_client.get(JOBS).content.decode(), "audio")

    link = f'<a href="{admin_url(Lecture, "change", latest.pk)}">Cell biology 4</a>'
    assert link in failures
    assert "No audio track found." in failures
    # Newest first; a failure of any age is listed.
    assert failures.index("Cell biology 4") < failures.index("Older")


def test_a_transcript_failure_links_to_its_lecture_page(staff_client):
    lecture = LectureFactory(status="completed", title="Genetics 2")
    Transcript.objects.create(lecture=lecture, status="failed", error_message="HTTP 401")

    failures = failures_of(staff_client.get(JOBS).content.decode(), "transcript")

    assert f'<a href="{admin_url(Lecture, "change", lecture.pk)}">Genetics 2</a>' in failures
    assert "HTTP 401" in failures
    assert 'value="transcribe_again"' in failures


def test_the_retry_button_runs_the_lists_retry_action_on_that_row(
    staff_client, django_capture_on_commit_callbacks
):
    lecture = failed_lecture()
    failures = failures_of(staff_client.get(JOBS).content.decode(), "audio")
    form = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', failures, re.S)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]+)">', form[2]))

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(form[1], fields, follow=True)

    assert response.status_code == 200
    lecture.refresh_from_db()
    assert lecture.status == "queued"
    assert form[1] == admin_url(Lecture, "changelist") + "?status__exact=failed"


def test_a_failure_message_and_a_title_are_shown_as_text_not_markup(staff_client):
    failed_lecture(title="<b>bold</b>", error_message="<script>alert(1)</script>")

    body = staff_client.get(JOBS).content.decode()

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "&lt;b&gt;bold&lt;/b&gt;" in body
    assert "<script>alert" not in body
    assert "<b>bold" not in body


def test_the_admin_index_links_to_the_dashboard(staff_client):
    body = staff_client.get(reverse("admin:index")).content.decode()

    assert f'href="{JOBS}"' in body


def test_a_student_is_sent_to_the_login_page(client):
    client.force_login(UserFactory(is_staff=False))

    response = client.get(JOBS)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_staff_who_may_view_no_job_is_forbidden(client):
    client.force_login(UserFactory(is_staff=True))

    response = client.get(JOBS)

    assert response.status_code == 403


def test_staff_see_only_the_kinds_they_may_view(client):
    member = UserFactory(is_staff=True)
    member.user_permissions.add(
        Permission.objects.get(content_type__app_label="documents", codename="view_document")
    )
    client.force_login(member)
    failed_lecture(error_message="The audio job's failure")

    response = client.get(JOBS)

    body = response.content.decode()
    assert response.status_code == 200
    assert counts_of(body, "text")["queued"] == "0"
    assert 'id="kind-audio"' not in body
    assert "audio job" not in body


def test_staff_who_may_not_retry_see_no_retry_button(client):
    member = UserFactory(is_staff=True)
    member.user_permissions.add(
        Permission.objects.get(content_type__app_label="lectures", codename="view_lecture")
    )
    client.force_login(member)
    failed_lecture(error_message="Gone.")

    failures = failures_of(client.get(JOBS).content.decode(), "audio")

    assert "Gone." in failures
    assert "<form" not in failures


def _jobs(count: int) -> None:
    """``count`` lectures in every state; a failed transcript, a failed embedding and a
    failed answer per 10 lectures; a document with failed text per 100."""
    course = CourseFactory()
    statuses = ("queued", "downloading", "completed", "failed", "completed")
    lectures = Lecture.objects.bulk_create(
        Lecture(
            course=course,
            title=f"Lecture {n}",
            stream_url="https://example.com/lecture.mp4",
            status=statuses[n % len(statuses)],
            error_message="HTTP 500" if statuses[n % len(statuses)] == "failed" else "",
        )
        for n in range(count)
    )
    Transcript.objects.bulk_create(
        Transcript(lecture=lecture, status="failed", error_message="HTTP 401")
        for lecture in lectures[::10]
    )
    Embedding.objects.bulk_create(
        Embedding(lecture=lecture, status="failed", error_message="HTTP 429")
        for lecture in lectures[::10]
    )
    conversation = Conversation.objects.create(owner=UserFactory(), title="Cells")
    Message.objects.bulk_create(
        Message(conversation=conversation, role="answer", status="failed", error="timeout")
        for _ in range(count // 10)
    )
    documents = DocumentFactory.create_batch(max(1, count // 100), course=course)
    DocumentText.objects.filter(pk__in=[d.pk for d in documents]).update(status="failed")


def test_the_page_runs_as_many_queries_for_2000_jobs_as_for_10(staff_client):
    # 100,000 rows take half a minute to create on a shared test machine; the list of
    # failures is cut at the same place for 2,000, and the counts are one query per kind
    # whatever the number (the page's figures at 100,000: docs/architecture.md).
    _jobs(10)
    with CaptureQueriesContext(connection) as few:
        assert staff_client.get(JOBS).status_code == 200

    _jobs(2_000)
    with CaptureQueriesContext(connection) as many:
        response = staff_client.get(JOBS)

    assert response.status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)
    assert counts_of(response.content.decode(), "audio")["failed-recently"] == "402"
