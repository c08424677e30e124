"""Extract documents' text (again): backfill for documents uploaded before text extraction,
and a retry for those that failed."""

from django.core.management.base import BaseCommand, CommandError

from core.commands import batch_summary, uuid_argument
from documents import selectors, services
from documents.jobs import document_extract_text
from documents.models import TextStatus


class Command(BaseCommand):
    help = (
        "Queue the text extraction of documents: those never extracted (--missing), those "
        "that failed (--failed) and those named with --document (whatever their state). "
        "Prints one line per document and a summary. --dry-run changes nothing; --wait runs "
        "the extraction in this process and reports each outcome (exit code 1 if any fails)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--document",
            dest="document_ids",
            action="append",
            default=[],
            type=uuid_argument,
            metavar="ID",
            help="a document id (repeatable)",
        )
        parser.add_argument(
            "--missing", action="store_true", help="documents whose text was never extracted"
        )
        parser.add_argument(
            "--failed", action="store_true", help="documents whose text extraction failed"
        )
        parser.add_argument("--dry-run", action="store_true", help="list, change nothing")
        parser.add_argument(
            "--wait", action="store_true", help="extract here and report how each ends"
        )

    def handle(self, *args, document_ids, missing, failed, dry_run, wait, **options):
        if not (document_ids or missing or failed):
            raise CommandError("name documents with --document, or choose --missing or --failed")
        documents = list(
            selectors.document_list_for_text(
                document_ids=document_ids, missing=missing, failed=failed
            )
        )
        unknown = set(document_ids) - {document.id for document in documents}
        for document_id in sorted(unknown, key=str):
            self.stderr.write(f"{document_id}: no such document")
        counts = {"queued": 0, "completed": 0, "failed": 0, "skipped": 0}
        total = len(documents)
        for number, document in enumerate(documents, start=1):
            line = (
                f"[{number}/{total}] {document.id} {document.course.code} "
                f"{document.original_filename!r}"
            )
            if dry_run:
                self.stdout.write(f"{line}: would extract (text {document.text.public_status})")
                continue
            if not services.document_text_requeue(document_id=document.id, enqueue=not wait):
                counts["skipped"] += 1
                self.stdout.write(f"{line}: skipped, being extracted right now")
                continue
            if not wait:
                counts["queued"] += 1
                self.stdout.write(f"{line}: queued")
                continue
            document_extract_text(document_id=document.id)
            text = document.text
            text.refresh_from_db()
            if text.status == TextStatus.COMPLETED:
                counts["completed"] += 1
                self.stdout.write(f"{line}: completed, {text.page_count} pages")
            else:
                counts["failed"] += 1
                self.stdout.write(f"{line}: {text.status} ({text.error_message})")
        self.stdout.write(
            batch_summary(
                total, counts, things="document(s)", would="extracted", dry_run=dry_run, wait=wait
            )
        )
        if unknown:
            raise CommandError(f"{len(unknown)} document(s) named with --document do not exist")
        if counts["failed"]:
            raise CommandError(f"{counts['failed']} document(s) failed")
