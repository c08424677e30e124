"""Re-queue failed lecture downloads (all, or a selection), optionally running them here."""

from django.core.management.base import BaseCommand, CommandError

from core.commands import batch_summary, date_argument, uuid_argument
from lectures import selectors, services
from lectures.jobs import lecture_process
from lectures.models import Lecture


class Command(BaseCommand):
    help = (
        "Re-queue failed lectures: every failed lecture, or those named with --lecture, of "
        "--course, or failed since --since. Prints one line per lecture and a summary. "
        "--dry-run changes nothing; --wait runs the downloads in this process and reports "
        "each outcome (exit code 1 if any fails again)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--lecture",
            dest="lecture_ids",
            action="append",
            default=[],
            type=uuid_argument,
            metavar="ID",
            help="a lecture id (repeatable)",
        )
        parser.add_argument(
            "--course",
            dest="course_id",
            type=uuid_argument,
            metavar="ID",
            help="only lectures of this course",
        )
        parser.add_argument(
            "--since",
            type=date_argument,
            metavar="YYYY-MM-DD",
            help="only lectures that failed on or after this day",
        )
        parser.add_argument("--dry-run", action="store_true", help="list, change nothing")
        parser.add_argument(
            "--wait", action="store_true", help="run the downloads here and report how each ends"
        )

    def handle(self, *args, lecture_ids, course_id, since, dry_run, wait, **options):
        lectures = list(
            selectors.lecture_list_failed(lecture_ids=lecture_ids, course_id=course_id, since=since)
        )
        missing = set(lecture_ids) - {lecture.id for lecture in lectures}
        for lecture_id in sorted(missing, key=str):
            self.stderr.write(f"{lecture_id}: no such failed lecture")
        counts = {"queued": 0, "completed": 0, "failed": 0, "skipped": 0}
        total = len(lectures)
        for number, lecture in enumerate(lectures, start=1):
            line = f"[{number}/{total}] {lecture.id} {lecture.course.code} {lecture.title!r}"
            if dry_run:
                self.stdout.write(f"{line}: would retry (failed: {lecture.error_message})")
                continue
            if not services.lecture_requeue_failed(lecture_id=lecture.id, enqueue=not wait):
                counts["skipped"] += 1
                self.stdout.write(f"{line}: skipped, no longer failed")
                continue
            if not wait:
                counts["queued"] += 1
                self.stdout.write(f"{line}: queued")
                continue
            self.stdout.write(f"{line}: downloading…")
            lecture_process(lecture_id=lecture.id)
            lecture.refresh_from_db()
            outcome = "completed" if lecture.status == Lecture.Status.COMPLETED else "failed"
            counts[outcome] += 1
            detail = "" if outcome == "completed" else f" ({lecture.error_message})"
            self.stdout.write(f"{line}: {lecture.status}{detail}")
        self.stdout.write(
            batch_summary(
                total,
                counts,
                things="failed lecture(s)",
                would="retried",
                dry_run=dry_run,
                wait=wait,
            )
        )
        if missing:
            raise CommandError(f"{len(missing)} lecture(s) named with --lecture are not failed")
        if counts["failed"]:
            raise CommandError(f"{counts['failed']} lecture(s) failed again")
