"""The embedding rows in the admin: the list (status filter, source, counts, error), the
read-only page, and "Queue again"."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from search.models import Embedding
from tests.admin_helpers import admin_url, messages_of, run_action
from tests.factories import UserFactory
from tests.search.embedding_helpers import captioned_lecture, embed, embedding_row
from tests.search.embedding_stub import Fault

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("embeddings_on")]

EMBEDDINGS = admin_url(Embedding, "changelist")


@pytest.fixture
def done_and_failed(alice, alice_client, embedding_stub):
    done = captioned_lecture(alice_client, alice)
    embed(done)
    failed = captioned_lecture(alice_client, alice)
    embedding_stub.faults = [Fault(401)]
    embed(failed)
    return done, failed


def test_the_list_shows_each_sources_counts_and_error_and_filters_on_status(
    staff_client, done_and_failed
):
    done, failed = done_and_failed

    page = staff_client.get(EMBEDDINGS).content.decode()
    failed_only = staff_client.get(EMBEDDINGS, {"status__exact": "failed"}).content.decode()

    assert f"lecture: {done.title}" in page and f"lecture: {failed.title}" in page
    count = embedding_row(done).passage_count
    assert f'class="field-embedded_count">{count}<' in page
    assert "refused the API key (HTTP 401)" in page
    assert f"lecture: {failed.title}" in failed_only
    assert f"lecture: {done.title}" not in failed_only


def test_the_page_is_read_only(staff_client, done_and_failed):
    row = embedding_row(done_and_failed[0])

    page = staff_client.get(admin_url(Embedding, "change", row.pk))
    posted = staff_client.post(admin_url(Embedding, "change", row.pk), {"status": "queued"})

    assert page.status_code == 200
    assert 'name="status"' not in page.content.decode()
    assert posted.status_code == 403
    assert staff_client.get(admin_url(Embedding, "add")).status_code == 403
    assert embedding_row(done_and_failed[0]).status == "completed"


def test_queue_again_queues_the_failed_source(
    staff_client, done_and_failed, django_capture_on_commit_callbacks
):
    _, failed = done_and_failed
    row = embedding_row(failed)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = run_action(staff_client, EMBEDDINGS, "queue_again", [row])

    assert messages_of(response) == ["Queued 1 source for embedding."]
    assert (embedding_row(failed).status, embedding_row(failed).error_message) == ("queued", "")
    assert len(callbacks) == 1


def test_queue_again_needs_the_change_permission(client, done_and_failed):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_embedding"))
    client.force_login(viewer)

    page = client.get(EMBEDDINGS).content.decode()

    assert page.count("lecture: ") == 2
    assert "queue_again" not in page
