"""``manage.py import_courses``, run as an operator would."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from courses.models import Course
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db


def run(command: str, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# --- import_courses --------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_import_courses_creates_updates_and_leaves_unchanged(tmp_path):
    CourseFactory(code="CSC 173", title="Old title", instructor="", is_official=False)
    CourseFactory(code="MTH 101", title="Calculus", instructor="Dr. N", is_official=True)
    path = write(
        tmp_path,
        "catalogue.csv",
        "code,title,instructor\n"
        "csc  173,Computation and Formal Systems,Dr. K\n"
        "MTH 101,Calculus,Dr. N\n"
        "PHY 121,Mechanics,\n",
    )

    out, _ = run("import_courses", path)

    assert "CSC 173: updated" in out
    assert "MTH 101: unchanged" in out
    assert "PHY 121: created" in out
    assert "3 course(s): 1 created, 1 updated, 1 unchanged" in out
    csc = Course.objects.get(code="CSC 173")
    assert (csc.title, csc.instructor, csc.is_official) == (
        "Computation and Formal Systems",
        "Dr. K",
        True,
    )
    assert Course.objects.get(code="PHY 121").is_official


def test_import_courses_is_idempotent(tmp_path):
    path = write(tmp_path, "c.json", json.dumps([{"code": "BIO 100", "title": "Biology"}]))

    run("import_courses", path)
    out, _ = run("import_courses", path)

    assert "1 course(s): 0 created, 0 updated, 1 unchanged" in out
    assert Course.objects.count() == 1


def test_import_courses_reads_json_with_a_courses_key(tmp_path):
    path = write(
        tmp_path,
        "c.json",
        json.dumps({"courses": [{"code": "BIO 100", "title": "Biology", "instructor": "Dr. D"}]}),
    )

    run("import_courses", path)

    assert Course.objects.get(code="BIO 100").instructor == "Dr. D"


def test_a_file_with_one_bad_row_imports_nothing_and_names_the_row(tmp_path):
    path = write(
        tmp_path, "c.csv", "code,title\nCSC 173,Computation\nMTH 101,\nPHY 121,Mechanics\n"
    )

    with pytest.raises(CommandError, match="nothing imported"):
        run("import_courses", path)

    assert not Course.objects.exists()


def test_bad_rows_are_reported_with_their_line_numbers(tmp_path):
    path = write(
        tmp_path, "c.csv", "code,title\nCSC 173,Computation\n,No code\nCSC  173,Duplicate\n"
    )
    err = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_courses", path, stdout=io.StringIO(), stderr=err)

    assert "line 3: code is empty" in err.getvalue()
    assert "line 4: course CSC 173 is already in line 2" in err.getvalue()


def test_import_courses_dry_run_changes_nothing(tmp_path):
    path = write(tmp_path, "c.json", json.dumps([{"code": "BIO 100", "title": "Biology"}]))

    out, _ = run("import_courses", path, "--dry-run")

    assert "BIO 100: created" in out and "dry run" in out
    assert not Course.objects.exists()


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("c.txt", "code,title\n"),
        ("c.json", "{not json"),
        ("c.json", '{"other": []}'),
        ("c.csv", "name,description\nx,y\n"),
    ],
)
def test_import_courses_refuses_unreadable_files(tmp_path, name, text):
    with pytest.raises(CommandError):
        run("import_courses", write(tmp_path, name, text))


def test_import_courses_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError):
        run("import_courses", str(tmp_path / "nope.csv"))
