"""Each search field and each filter of the admin lists narrows the list to the right rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from courses.models import Course
from documents.models import Document
from lectures.models import Lecture, LectureLink
from tests.admin_helpers import completed_lecture, failed_lecture, stored_document
from tests.factories import CourseFactory, UserFactory
from tests.lectures.factories import LectureLinkFactory

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - timedelta(days=400)


@pytest.fixture
def rows(staff):
    """Two of everything, differing in every searched and filtered field."""
    ann = UserFactory(clerk_id="user_ann", email="ann@example.com")
    bob = UserFactory(clerk_id="user_bob", email="bob@example.com")
    physics = CourseFactory(
        code="PHY 101", title="Physics", instructor="Dr. Curie", is_official=True
    )
    computing = CourseFactory(code="CSC 173", title="Computation", instructor="Dr. Turing")
    tunnelling = failed_lecture(course=physics, title="Quantum tunnelling")
    automata = completed_lecture(course=computing, title="Finite automata")
    rows = {
        "ann": ann,
        "bob": bob,
        "staff": staff,
        "physics": physics,
        "computing": computing,
        "tunnelling": tunnelling,
        "automata": automata,
        "ann_link": LectureLinkFactory(user=ann, lecture=tunnelling),
        "bob_link": LectureLinkFactory(user=bob, lecture=automata),
        "quantum_pdf": stored_document(
            owner=ann, course=physics, original_filename="quantum notes.pdf"
        ),
        "automata_pdf": stored_document(
            owner=bob, course=computing, original_filename="automata.pdf"
        ),
    }
    # The physics side is old: date filters keep only the computing side.
    Course.objects.filter(pk=physics.pk).update(created_at=LONG_AGO)
    Lecture.objects.filter(pk=tunnelling.pk).update(created_at=LONG_AGO, updated_at=LONG_AGO)
    LectureLink.objects.filter(pk=rows["ann_link"].pk).update(created_at=LONG_AGO)
    Document.objects.filter(pk=rows["quantum_pdf"].pk).update(created_at=LONG_AGO)
    return rows


def _since_today(field: str) -> dict[str, str]:
    """The parameters of the date filter's "Today" link."""
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return {f"{field}__gte": str(today), f"{field}__lt": str(today + timedelta(days=1))}


CASES = [
    # (changelist, query, the names of the rows it must list, exactly)
    ("courses_course", {"q": "phy"}, {"physics"}),
    ("courses_course", {"q": "computation"}, {"computing"}),
    ("courses_course", {"q": "turing"}, {"computing"}),
    ("courses_course", {"is_official__exact": "1"}, {"physics"}),
    ("courses_course", _since_today("created_at"), {"computing"}),
    ("lectures_lecture", {"q": "tunnelling"}, {"tunnelling"}),
    ("lectures_lecture", {"q": "CSC 173"}, {"automata"}),
    ("lectures_lecture", {"q": "ann@example.com"}, {"tunnelling"}),
    ("lectures_lecture", {"q": "user_bob"}, {"automata"}),
    ("lectures_lecture", {"status__exact": "failed"}, {"tunnelling"}),
    ("lectures_lecture", {"course__is_official__exact": "1"}, {"tunnelling"}),
    ("lectures_lecture", _since_today("created_at"), {"automata"}),
    ("lectures_lecture", _since_today("updated_at"), {"automata"}),
    ("lectures_lecture", {"completed_at__isnull": "True"}, {"tunnelling"}),
    ("lectures_lecturelink", {"q": "ann@example.com"}, {"ann_link"}),
    ("lectures_lecturelink", {"q": "finite"}, {"bob_link"}),
    ("lectures_lecturelink", {"lecture__status__exact": "completed"}, {"bob_link"}),
    ("lectures_lecturelink", _since_today("created_at"), {"bob_link"}),
    ("documents_document", {"q": "quantum"}, {"quantum_pdf"}),
    ("documents_document", {"q": "bob@example.com"}, {"automata_pdf"}),
    ("documents_document", {"q": "user_ann"}, {"quantum_pdf"}),
    ("documents_document", {"q": "PHY 101"}, {"quantum_pdf"}),
    ("documents_document", {"course__is_official__exact": "1"}, {"quantum_pdf"}),
    ("documents_document", _since_today("created_at"), {"automata_pdf"}),
    ("accounts_user", {"q": "user_ann"}, {"ann"}),
    ("accounts_user", {"q": "bob@example"}, {"bob"}),
    ("accounts_user", {"is_staff__exact": "1"}, {"staff"}),
]


def _listed(client, changelist: str, query: dict) -> set:
    response = client.get(reverse(f"admin:{changelist}_changelist"), query)
    assert response.status_code == 200
    assert "errornote" not in response.content.decode()
    return {obj.pk for obj in response.context["cl"].result_list}


@pytest.mark.parametrize(
    ("changelist", "query", "expected"),
    CASES,
    ids=[f"{c}-{q['q']}" if "q" in q else f"{c}-{'-'.join(q)}" for c, q, _ in CASES],
)
def test_search_and_filters_narrow_the_list(staff_client, rows, changelist, query, expected):
    everything = _listed(staff_client, changelist, {})

    listed = _listed(staff_client, changelist, query)

    assert listed == {rows[name].pk for name in expected}
    assert listed < everything
