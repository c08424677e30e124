"""The /api/courses routes, through HTTP."""

from __future__ import annotations

import uuid

import pytest

from courses.models import Course, Enrollment
from tests.concurrency import run_concurrently
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db


def course_body(course: Course, *, enrolled: bool) -> dict:
    return {
        "id": str(course.id),
        "code": course.code,
        "title": course.title,
        "instructor": course.instructor,
        "is_official": course.is_official,
        "enrolled": enrolled,
        "created_at": course.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": course.updated_at.isoformat().replace("+00:00", "Z"),
    }


# --- POST /api/courses -----------------------------------------------------------------


def test_creating_a_new_course_answers_201_and_enrols_the_caller(alice_client, alice):
    response = alice_client.post(
        "/api/courses",
        {"code": "csc 173", "title": "Computation and Formal Systems", "instructor": "Dr. K"},
        format="json",
    )

    assert response.status_code == 201
    course = Course.objects.get()
    assert response.json() == course_body(course, enrolled=True)
    assert (course.code, course.is_official, course.created_by) == ("CSC 173", False, alice)
    assert Enrollment.objects.filter(user=alice, course=course).exists()


def test_an_existing_course_answers_200_keeps_its_title_and_enrols_the_caller(alice_client, alice):
    course = CourseFactory(code="CSC 173", title="Official title", is_official=True)

    response = alice_client.post(
        "/api/courses", {"code": " csc   173 ", "title": "my title"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["id"] == str(course.id)
    assert response.json()["title"] == "Official title"
    assert response.json()["enrolled"] is True
    assert Course.objects.count() == 1
    assert Enrollment.objects.filter(user=alice, course=course).exists()


@pytest.mark.parametrize("spelling", ["csc  173", " CSC 173 ", "CSC 173", "Csc\t173"])
def test_code_spellings_fold_into_one_course(alice_client, spelling):
    CourseFactory(code="CSC 173")

    response = alice_client.post("/api/courses", {"code": spelling, "title": "x"}, format="json")

    assert response.status_code == 200
    assert Course.objects.count() == 1


def test_the_instructor_is_optional(alice_client):
    response = alice_client.post(
        "/api/courses", {"code": "MTH 101", "title": "Calculus"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["instructor"] == ""


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "No code"}, "code"),
        ({"code": "", "title": "Empty code"}, "code"),
        ({"code": "   ", "title": "Blank code"}, "code"),
        ({"code": "C" * 33, "title": "Long code"}, "code"),
        ({"code": "CSC\x00173", "title": "NUL in code"}, "code"),
        ({"code": "CSC 173"}, "title"),
        ({"code": "CSC 173", "title": ""}, "title"),
        ({"code": "CSC 173", "title": "T" * 201}, "title"),
        ({"code": "CSC 173", "title": "evil\u202etxt.exe"}, "title"),
        ({"code": "CSC 173", "title": "ok", "instructor": "I" * 201}, "instructor"),
        ({"code": 173, "title": ["not", "text"]}, "title"),
    ],
    ids=[
        "no-code",
        "empty-code",
        "blank-code",
        "long-code",
        "nul-code",
        "no-title",
        "empty-title",
        "long-title",
        "rtl-override-title",
        "long-instructor",
        "list-title",
    ],
)
def test_invalid_course_input_is_400_and_creates_nothing(alice_client, body, field):
    response = alice_client.post("/api/courses", body, format="json")

    assert response.status_code == 400
    data = response.json()
    assert data["code"] in {
        "invalid",
        "required",
        "blank",
        "max_length",
        "not_a_string",
        "null_characters_not_allowed",
    }
    assert data["detail"] == "Invalid input."
    assert isinstance(data["errors"][field], list)
    assert not Course.objects.exists()
    assert not Enrollment.objects.exists()


def test_a_body_that_is_not_json_is_400(alice_client):
    response = alice_client.post("/api/courses", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert not Course.objects.exists()


def test_ten_concurrent_creates_of_one_code_make_one_course_and_ten_enrolments(
    transactional_db, client_for
):
    users = [UserFactory() for _ in range(10)]
    clients = [client_for(user) for user in users]

    responses = run_concurrently(
        10,
        lambda i: clients[i].post(
            "/api/courses", {"code": "phy 121", "title": "Physics"}, format="json"
        ),
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * 9 + [201]
    assert Course.objects.filter(code="PHY 121").count() == 1
    assert Enrollment.objects.filter(course__code="PHY 121").count() == 10
    assert len({response.json()["id"] for response in responses}) == 1


# --- GET /api/courses ------------------------------------------------------------------


def test_my_list_shows_only_my_enrolments_ordered_by_code(alice_client, alice, bob):
    mine_b = EnrollmentFactory(user=alice, course=CourseFactory(code="MTH 200")).course
    mine_a = EnrollmentFactory(user=alice, course=CourseFactory(code="BIO 100")).course
    EnrollmentFactory(user=bob, course=CourseFactory(code="ART 100"))
    CourseFactory(code="CHM 100")

    response = alice_client.get("/api/courses")

    assert response.status_code == 200
    assert response.json() == {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [course_body(mine_a, enrolled=True), course_body(mine_b, enrolled=True)],
    }


def test_my_list_is_paginated_with_limit_and_offset(alice_client, alice):
    for n in range(5):
        EnrollmentFactory(user=alice, course=CourseFactory(code=f"CSC {n}00"))

    response = alice_client.get("/api/courses?limit=2&offset=2")

    data = response.json()
    assert data["count"] == 5
    assert [c["code"] for c in data["results"]] == ["CSC 200", "CSC 300"]
    assert data["next"].endswith("/api/courses?limit=2&offset=4")
    assert data["previous"].endswith("/api/courses?limit=2")


def test_a_limit_above_the_maximum_is_capped(alice_client, alice):
    for n in range(3):
        EnrollmentFactory(user=alice, course=CourseFactory(code=f"CSC {n}"))

    response = alice_client.get("/api/courses?limit=100000")

    assert response.status_code == 200
    assert len(response.json()["results"]) == 3


def test_my_list_searches_code_and_title(alice_client, alice):
    EnrollmentFactory(user=alice, course=CourseFactory(code="CSC 173", title="Computation"))
    EnrollmentFactory(user=alice, course=CourseFactory(code="MTH 101", title="Calculus"))
    EnrollmentFactory(user=alice, course=CourseFactory(code="PHY 121", title="Mechanics"))

    by_code = alice_client.get("/api/courses?search=csc  17").json()
    by_title = alice_client.get("/api/courses?search=calc").json()

    assert [c["code"] for c in by_code["results"]] == ["CSC 173"]
    assert [c["code"] for c in by_title["results"]] == ["MTH 101"]


def test_list_queries_do_not_grow_with_rows(alice_client, alice, django_assert_max_num_queries):
    for n in range(30):
        EnrollmentFactory(user=alice, course=CourseFactory(code=f"QRY {n}"))

    with django_assert_max_num_queries(4):
        response = alice_client.get("/api/courses?limit=30")

    assert len(response.json()["results"]) == 30


# --- GET /api/courses/catalog ----------------------------------------------------------


def test_the_catalogue_lists_every_course_with_enrolled_flags(alice_client, alice, bob):
    mine = EnrollmentFactory(user=alice, course=CourseFactory(code="BIO 100")).course
    others = EnrollmentFactory(user=bob, course=CourseFactory(code="CHM 100")).course

    response = alice_client.get("/api/courses/catalog")

    assert response.status_code == 200
    assert response.json()["results"] == [
        course_body(mine, enrolled=True),
        course_body(others, enrolled=False),
    ]


def test_the_catalogue_filters_official_courses_and_searches(alice_client):
    CourseFactory(code="CSC 173", title="Computation", is_official=True)
    CourseFactory(code="CSC 999", title="Study group", is_official=False)
    CourseFactory(code="MTH 101", title="Calculus", is_official=True)

    official = alice_client.get("/api/courses/catalog?official=true").json()
    unofficial = alice_client.get("/api/courses/catalog/?official=false").json()
    searched = alice_client.get("/api/courses/catalog?official=true&search=CSC").json()

    assert [c["code"] for c in official["results"]] == ["CSC 173", "MTH 101"]
    assert [c["code"] for c in unofficial["results"]] == ["CSC 999"]
    assert [c["code"] for c in searched["results"]] == ["CSC 173"]


def test_a_bad_official_filter_is_400(alice_client):
    response = alice_client.get("/api/courses/catalog?official=maybe")

    assert response.status_code == 400
    assert "official" in response.json()


# --- GET /api/courses/{id} -------------------------------------------------------------


def test_any_catalogue_course_can_be_retrieved_with_enrolled(alice_client, alice):
    course = CourseFactory()

    before = alice_client.get(f"/api/courses/{course.id}")
    EnrollmentFactory(user=alice, course=course)
    after = alice_client.get(f"/api/courses/{course.id}/")

    assert before.status_code == 200
    assert before.json() == course_body(course, enrolled=False)
    assert after.json()["enrolled"] is True


# An id no row has. Fixed, not random: every pytest-xdist worker must collect the same test ids.
NO_SUCH_ID = "7d3f0a52-5c1e-4b8a-9e2d-41c6b7a8f903"


@pytest.mark.parametrize("course_id", [NO_SUCH_ID, "not-a-uuid", "1234", "%00"])
def test_an_unknown_or_malformed_course_id_is_404(alice_client, course_id):
    response = alice_client.get(f"/api/courses/{course_id}")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


# --- PUT/DELETE /api/courses/{id}/enrollment -------------------------------------------


def test_enrolling_answers_201_then_200_and_keeps_one_enrolment(alice_client, alice):
    course = CourseFactory()

    first = alice_client.put(f"/api/courses/{course.id}/enrollment")
    second = alice_client.put(f"/api/courses/{course.id}/enrollment/")

    assert first.status_code == 201
    assert second.status_code == 200
    assert first.json() == course_body(course, enrolled=True)
    assert Enrollment.objects.filter(user=alice, course=course).count() == 1


def test_unenrolling_is_idempotent_and_leaves_the_course(alice_client, alice):
    course = EnrollmentFactory(user=alice).course

    first = alice_client.delete(f"/api/courses/{course.id}/enrollment")
    second = alice_client.delete(f"/api/courses/{course.id}/enrollment")

    assert (first.status_code, second.status_code) == (204, 204)
    assert first.content == b""
    assert not Enrollment.objects.filter(user=alice).exists()
    assert Course.objects.filter(pk=course.pk).exists()


def test_unenrolling_leaves_other_students_enrolled(alice_client, alice, bob):
    course = EnrollmentFactory(user=alice).course
    EnrollmentFactory(user=bob, course=course)

    alice_client.delete(f"/api/courses/{course.id}/enrollment")

    assert Enrollment.objects.filter(user=bob, course=course).exists()


@pytest.mark.parametrize("method", ["put", "delete"])
def test_enrolment_of_an_unknown_course_is_404(alice_client, method):
    response = getattr(alice_client, method)(f"/api/courses/{uuid.uuid4()}/enrollment")

    assert response.status_code == 404
    assert not Enrollment.objects.exists()


def test_concurrent_enrolments_of_one_user_make_one_enrolment(transactional_db, client_for):
    user = UserFactory()
    course = CourseFactory()
    clients = [client_for(user) for _ in range(8)]

    responses = run_concurrently(
        8, lambda i: clients[i].put(f"/api/courses/{course.id}/enrollment")
    )

    assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
    assert Enrollment.objects.filter(user=user, course=course).count() == 1


# --- Methods and auth ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/courses"),
        ("post", "/api/courses"),
        ("get", "/api/courses/catalog"),
        ("get", f"/api/courses/{NO_SUCH_ID}"),
        ("put", f"/api/courses/{NO_SUCH_ID}/enrollment"),
        ("delete", f"/api/courses/{NO_SUCH_ID}/enrollment"),
    ],
)
def test_every_course_route_needs_a_token(api_client, method, path):
    response = getattr(api_client, method)(path)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_courses_cannot_be_deleted_through_the_api(alice_client):
    course = CourseFactory()

    response = alice_client.delete(f"/api/courses/{course.id}")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert Course.objects.filter(pk=course.pk).exists()
