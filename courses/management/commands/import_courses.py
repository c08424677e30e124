"""Import the official course catalogue from a CSV or JSON file."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError

from courses.importing import CourseFileError, read_course_file
from courses.services import course_import_official


class Command(BaseCommand):
    help = (
        "Upsert official courses from FILE: CSV with a code,title[,instructor] header, or "
        'JSON (a list of {"code", "title", "instructor"} objects). Courses are matched by '
        "normalised code and marked official. Every row is checked first: one bad row and "
        "nothing is imported. Prints one line per course and a summary."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the .csv or .json file")
        parser.add_argument(
            "--dry-run", action="store_true", help="report what would change, change nothing"
        )

    def handle(self, *args, file: Path, dry_run: bool, **options):
        try:
            rows = read_course_file(file)
        except CourseFileError as exc:
            for problem in exc.problems:
                self.stderr.write(problem)
            raise CommandError(
                f"{file}: nothing imported ({len(exc.problems)} problem(s))"
            ) from None
        try:
            outcomes = course_import_official(rows=rows, dry_run=dry_run)
        except IntegrityError:
            # A student added one of these codes while the import ran: nothing was kept.
            raise CommandError(
                f"{file}: a course with one of these codes was created meanwhile; nothing "
                "imported, run the import again"
            ) from None
        total = len(rows)
        for number, (row, outcome) in enumerate(zip(rows, outcomes, strict=True), start=1):
            self.stdout.write(f"[{number}/{total}] {row.code}: {outcome} ({row.title})")
        counts = {name: outcomes.count(name) for name in ("created", "updated", "unchanged")}
        suffix = " (dry run: nothing changed)" if dry_run else ""
        self.stdout.write(
            f"{total} course(s): {counts['created']} created, {counts['updated']} updated, "
            f"{counts['unchanged']} unchanged{suffix}"
        )
