"""Course codes that look alike are one course, or refused: through the API and the
import command. (The admin form: ``tests/courses/test_admin.py``; existing rows: the
migration test.)"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from courses.models import CODE_CHARACTERS_MESSAGE, Course, Enrollment
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db

# Each of these prints as `CSC 173` (or close enough to be taken for it).
LOOKALIKES = {
    "full-width-letters": "\uff23\uff33\uff23 173",
    "full-width-everything": "\uff23\uff33\uff23\u3000\uff11\uff17\uff13",
    "zero-width-space": "CSC\u200b 173",
    "zero-width-space-inside": "C\u200bSC 1\u200b73",
    "soft-hyphen": "CS\u00adC 173",
    "bom": "\ufeffCSC 173",
    "word-joiner": "CSC\u2060 173",
    "zero-width-joiner": "CSC 17\u200d3",
    "no-break-space": "csc\u00a0173",
    "lower-case-full-width": "\uff43\uff53\uff43 173",
}

# These are not `CSC 173`, and not ASCII once normalised: refused, never a second course.
NOT_ASCII = {
    "cyrillic-es": "\u0421SC 173",
    "greek-omicron-for-o": "B\u039fB 101",
    "combining-acute-on-a-letter": "C\u0301SC 173",
    "combining-acute-on-a-digit": "CSC 173\u0301",
    "combining-cedilla": "CSC\u0327 173",
    "accented-letter": "\u00c9CO 101",
}


def post_code(client, code: str):
    return client.post("/api/courses", {"code": code, "title": "Look-alike"}, format="json")


# --- POST /api/courses -----------------------------------------------------------------


@pytest.mark.parametrize("code", LOOKALIKES.values(), ids=LOOKALIKES.keys())
def test_a_lookalike_code_finds_the_existing_course_and_enrols_the_caller(
    alice_client, alice, code
):
    course = CourseFactory(code="CSC 173")

    response = post_code(alice_client, code)

    assert response.status_code == 200
    assert response.json()["id"] == str(course.id)
    assert response.json()["code"] == "CSC 173"
    assert Course.objects.count() == 1
    assert Enrollment.objects.filter(user=alice, course=course).exists()


@pytest.mark.parametrize("code", LOOKALIKES.values(), ids=LOOKALIKES.keys())
def test_a_new_lookalike_code_is_stored_in_its_plain_form(alice_client, code):
    response = post_code(alice_client, code)

    assert response.status_code == 201
    assert response.json()["code"] == "CSC 173"
    assert Course.objects.get().code == "CSC 173"


@pytest.mark.parametrize("code", NOT_ASCII.values(), ids=NOT_ASCII.keys())
def test_a_code_that_is_not_ascii_after_normalisation_is_400(alice_client, alice, code):
    CourseFactory(code="CSC 173")

    response = post_code(alice_client, code)

    assert response.status_code == 400
    assert response.json()["errors"] == {"code": [CODE_CHARACTERS_MESSAGE]}
    assert Course.objects.count() == 1
    assert not Enrollment.objects.filter(user=alice).exists()


@pytest.mark.parametrize("code", ["CSC_173", "CSC#173", "CSC:173", "CSC 173!", "CSC+173", "<b>"])
def test_ascii_punctuation_other_than_the_allowed_is_400(alice_client, code):
    response = post_code(alice_client, code)

    assert response.status_code == 400
    assert response.json()["errors"] == {"code": [CODE_CHARACTERS_MESSAGE]}
    assert not Course.objects.exists()


def test_letters_digits_spaces_and_the_allowed_punctuation_make_a_course(alice_client):
    response = post_code(alice_client, "r&d 1.0/2-a")

    assert response.status_code == 201
    assert response.json()["code"] == "R&D 1.0/2-A"


def test_a_code_of_invisible_characters_only_is_400(alice_client):
    response = post_code(alice_client, "\u200b\u00ad\ufeff")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["code"]
    assert not Course.objects.exists()


def test_a_code_that_normalisation_makes_too_long_is_400(alice_client):
    # Each square-MHz sign is one character that NFKC writes as three.
    response = post_code(alice_client, "\u3392" * 11)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["code"]
    assert not Course.objects.exists()


# --- import_courses --------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_an_imported_lookalike_row_updates_the_existing_course(tmp_path):
    course = CourseFactory(code="CSC 173", title="Old", is_official=False)
    path = write(tmp_path, "c.csv", "code,title\n\uff23\uff33\uff23\u200b 173,Computation\n")
    out = io.StringIO()

    call_command("import_courses", path, stdout=out, stderr=io.StringIO())

    assert "CSC 173: updated" in out.getvalue()
    course.refresh_from_db()
    assert (course.title, course.is_official) == ("Computation", True)
    assert Course.objects.count() == 1


def test_an_imported_row_that_is_not_ascii_is_reported_and_nothing_is_imported(tmp_path):
    rows = [{"code": "BIO 100", "title": "Biology"}, {"code": "\u0421SC 173", "title": "Fake"}]
    path = write(tmp_path, "c.json", json.dumps(rows))
    err = io.StringIO()

    with pytest.raises(CommandError, match="nothing imported"):
        call_command("import_courses", path, stdout=io.StringIO(), stderr=err)

    assert err.getvalue() == (
        "item 2: code '\\u0421SC 173' may contain only ASCII letters, digits, spaces and "
        "& . / - (after Unicode normalisation)\n"
    )
    assert not Course.objects.exists()


def test_two_imported_rows_that_look_alike_are_one_code_twice(tmp_path):
    path = write(tmp_path, "c.csv", "code,title\nCSC 173,One\nCSC\u2060 173,Two\n")
    err = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_courses", path, stdout=io.StringIO(), stderr=err)

    assert "line 3: course CSC 173 is already in line 2" in err.getvalue()
    assert not Course.objects.exists()
