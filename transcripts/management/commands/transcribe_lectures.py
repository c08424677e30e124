"""Queue (or run here) the transcription of completed lectures: a backfill for lectures
completed before transcription was turned on, and a retry for failed transcripts."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.commands import batch_summary, uuid_argument
from transcripts import selectors, services
from transcripts.jobs import transcript_process
from transcripts.models import Transcript, TranscriptStatus


class Command(BaseCommand):
    help = (
        "Transcribe completed lectures: those named with --lecture (whatever their "
        "transcript, unless it is queued or running), else those of --course, else all; "
        "--missing keeps those without a transcript, --failed those whose transcript "
        "failed (neither flag: both). Prints one line per lecture and a summary. "
        "--dry-run changes nothing; --wait transcribes in this process and reports each "
        "outcome (exit code 1 if any fails)."
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
            "--course", dest="course_id", type=uuid_argument, metavar="ID", help="only this course"
        )
        parser.add_argument("--missing", action="store_true", help="lectures without a transcript")
        parser.add_argument(
            "--failed", action="store_true", help="lectures whose transcript failed"
        )
        parser.add_argument("--dry-run", action="store_true", help="list, change nothing")
        parser.add_argument(
            "--wait", action="store_true", help="transcribe here and report how each ends"
        )

    def handle(self, *args, lecture_ids, course_id, missing, failed, dry_run, wait, **options):
        if not dry_run and not services.transcription_enabled():
            raise CommandError(
                "transcription is turned off: set TRANSCRIPTION_BACKEND=openai (and the "
                "provider's TRANSCRIPTION_BASE_URL, TRANSCRIPTION_API_KEY)"
            )
        lectures = list(
            selectors.lectures_to_transcribe(
                lecture_ids=lecture_ids, course_id=course_id, missing=missing, failed=failed
            )
        )
        unknown = set(lecture_ids) - {lecture.id for lecture in lectures}
        for lecture_id in sorted(unknown, key=str):
            self.stderr.write(f"{lecture_id}: no such completed lecture (or not selected)")
        counts = {"queued": 0, "completed": 0, "failed": 0, "skipped": 0}
        total = len(lectures)
        provider = f"{settings.TRANSCRIPTION_MODEL} at {settings.TRANSCRIPTION_BASE_URL}"
        for number, lecture in enumerate(lectures, start=1):
            line = f"[{number}/{total}] {lecture.id} {lecture.course.code} {lecture.title!r}"
            current = _status(lecture)
            if dry_run:
                self.stdout.write(f"{line}: would transcribe (transcript: {current})")
                continue
            result = services.transcript_requeue_for_command(
                lecture_id=lecture.id, enqueue=not wait
            )
            if result != "queued":
                counts["skipped"] += 1
                self.stdout.write(f"{line}: {result}")
                continue
            if not wait:
                counts["queued"] += 1
                self.stdout.write(f"{line}: queued")
                continue
            self.stdout.write(f"{line}: transcribing with {provider}…")
            transcript_process(lecture_id=lecture.id)
            transcript = Transcript.objects.get(lecture_id=lecture.id)
            outcome = "completed" if transcript.status == TranscriptStatus.COMPLETED else "failed"
            counts[outcome] += 1
            detail = (
                f" ({transcript.segment_count} segments)"
                if outcome == "completed"
                else f" ({transcript.error_message})"
            )
            self.stdout.write(f"{line}: {transcript.status}{detail}")
        self.stdout.write(
            batch_summary(
                total, counts, things="lecture(s)", would="transcribed", dry_run=dry_run, wait=wait
            )
        )
        if unknown:
            raise CommandError(f"{len(unknown)} lecture(s) named with --lecture were not found")
        if counts["failed"]:
            raise CommandError(f"{counts['failed']} transcript(s) failed")


def _status(lecture) -> str:
    try:
        return lecture.transcript.status
    except Transcript.DoesNotExist:
        return TranscriptStatus.NONE
