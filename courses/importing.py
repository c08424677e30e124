"""Reading the official course catalogue from a CSV or JSON file, every row checked."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from core.validators import is_control_character
from courses.models import (
    CODE_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    course_code_problem,
    normalise_course_code,
)


@dataclass(frozen=True)
class CourseRow:
    where: str  # "line 3" (CSV) or "item 2" (JSON): how the operator finds the row
    code: str
    title: str
    instructor: str


class CourseFileError(Exception):
    """The file cannot be imported; ``problems`` names every bad row."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def read_course_file(path: Path) -> list[CourseRow]:
    """Every row of ``path`` (``.csv`` with a ``code,title[,instructor]`` header, or
    ``.json``: a list of ``{code, title, instructor?}`` objects, or ``{"courses": [...]}``).

    Raises ``CourseFileError`` naming every bad row; a file with one bad row gives no rows.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CourseFileError([f"cannot read {path}: {exc}"]) from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        records = _csv_records(text)
    elif suffix == ".json":
        records = _json_records(text)
    else:
        raise CourseFileError([f"{path.name}: the file must end in .csv or .json"])
    return _checked(records)


def _csv_records(text: str) -> list[tuple[str, dict]]:
    reader = csv.DictReader(text.splitlines())
    columns = {name.strip().lower() for name in reader.fieldnames or []}
    if not {"code", "title"} <= columns:
        raise CourseFileError(["line 1: the header must name the columns code and title"])
    records = []
    for row in reader:
        values = {(key or "").strip().lower(): value for key, value in row.items()}
        records.append((f"line {reader.line_num}", values))
    return records


def _json_records(text: str) -> list[tuple[str, dict]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CourseFileError([f"not valid JSON: {exc}"]) from None
    if isinstance(data, dict):
        data = data.get("courses")
    if not isinstance(data, list):
        raise CourseFileError(['JSON must be a list of courses or {"courses": [...]}'])
    return [(f"item {index}", item) for index, item in enumerate(data, start=1)]


def _text(record: dict, name: str) -> str:
    value = record.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text")
    return value.strip()


def _checked(records: list[tuple[str, dict]]) -> list[CourseRow]:
    problems: list[str] = []
    rows: list[CourseRow] = []
    first_seen: dict[str, str] = {}
    for where, record in records:
        if not isinstance(record, dict):
            problems.append(f"{where}: expected an object with code and title")
            continue
        try:
            code = normalise_course_code(_text(record, "code"))
            title = " ".join(_text(record, "title").split())
            instructor = " ".join(_text(record, "instructor").split())
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            continue
        problem = _row_problem(code, title, instructor)
        if problem is None and code in first_seen:
            problem = f"course {code} is already in {first_seen[code]}"
        if problem:
            problems.append(f"{where}: {problem}")
            continue
        first_seen[code] = where
        rows.append(CourseRow(where, code, title, instructor))
    if problems:
        raise CourseFileError(problems)
    return rows


def _row_problem(code: str, title: str, instructor: str) -> str | None:
    if not code:
        return "code is empty"
    if len(code) > CODE_MAX_LENGTH:
        return f"code is longer than {CODE_MAX_LENGTH} characters"
    if course_code_problem(code):
        return (
            f"code {code!a} may contain only ASCII letters, digits, spaces and & . / - "
            "(after Unicode normalisation)"
        )
    if not title:
        return "title is empty"
    if len(title) > TITLE_MAX_LENGTH or len(instructor) > TITLE_MAX_LENGTH:
        return f"title and instructor must be at most {TITLE_MAX_LENGTH} characters"
    if any(is_control_character(char) for char in code + title + instructor):
        return "control characters are not allowed"
    return None
