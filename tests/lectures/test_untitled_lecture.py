"""A lecture no one gave a title has one name everywhere: its title is "" in the API and in
search alike (a client names it the same way in both), and the admin shows it as untitled,
never by its Panopto session id."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import EnrollmentFactory, UserFactory
from tests.lectures.factories import LectureFactory, LectureLinkFactory
from transcripts.models import TranscriptSegment

pytestmark = pytest.mark.django_db


@pytest.fixture
def untitled(alice):
    """A lecture of alice's added without a title, whose transcript says "eigenvalues"."""
    lecture = LectureFactory(course=EnrollmentFactory(user=alice).course, title="")
    LectureLinkFactory(user=alice, lecture=lecture)
    segment = TranscriptSegment.of(
        lecture_id=lecture.pk, index=0, start=3.0, end=8.0, text="Eigenvalues, at last"
    )
    TranscriptSegment.insert([segment])
    return lecture


def test_the_api_gives_an_untitled_lecture_an_empty_title(alice_client, untitled):
    response = alice_client.get(f"/api/lectures/{untitled.id}")

    assert response.status_code == 200
    assert response.json()["title"] == ""


def test_a_search_hit_names_an_untitled_lecture_as_the_api_does(alice_client, untitled):
    listed = alice_client.get("/api/lectures").json()["results"][0]

    hits = alice_client.get("/api/search", {"q": "eigenvalues"}).json()["results"]

    assert [(hit["id"], hit["title"]) for hit in hits] == [(str(untitled.id), listed["title"])]
    assert hits[0]["title"] == ""


def test_the_admin_lists_an_untitled_lecture_as_untitled(untitled):
    staff = Client()
    staff.force_login(
        UserFactory(username="staff", clerk_id=None, is_staff=True, is_superuser=True)
    )

    listing = staff.get(reverse("admin:lectures_lecture_changelist"))
    page = staff.get(reverse("admin:lectures_lecture_change", args=[untitled.id]))

    assert listing.status_code == page.status_code == 200
    change_url = reverse("admin:lectures_lecture_change", args=[untitled.id])
    assert f'<a href="{change_url}">Untitled lecture</a>' in listing.content.decode()
    assert "<h2>Untitled lecture</h2>" in page.content.decode()
    for body in (listing, page):
        assert f"Panopto session {untitled.panopto_session_id}" not in body.content.decode()
