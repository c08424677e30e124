"""Delete stored files that no row references; report rows whose file is missing."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from core.orphans import storage_audit
from core.storage import storage_delete_quietly


class Command(BaseCommand):
    help = (
        "Compare storage (documents and lecture audio) with the database: delete files that "
        "no document or lecture references (older than --min-age, so uploads in flight are "
        "safe), and report documents and lectures whose file is missing. --dry-run lists "
        "without deleting."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="list, delete nothing")
        parser.add_argument(
            "--min-age",
            type=int,
            default=5,
            metavar="MINUTES",
            help="leave unreferenced files younger than this (default: 5)",
        )

    def handle(self, *args, dry_run: bool, min_age: int, **options):
        if min_age < 0:
            raise CommandError("--min-age cannot be negative")
        audit = storage_audit(min_age=timedelta(minutes=min_age))
        failed = 0
        total = len(audit.orphans)
        for number, key in enumerate(audit.orphans, start=1):
            if dry_run:
                self.stdout.write(f"[{number}/{total}] orphan {key}: would delete")
            elif storage_delete_quietly(key):
                self.stdout.write(f"[{number}/{total}] orphan {key}: deleted")
            else:
                failed += 1
                self.stderr.write(f"[{number}/{total}] orphan {key}: could not delete")
        for key in audit.too_new:
            self.stdout.write(f"unreferenced {key}: kept, younger than {min_age} min")
        for label, key in audit.missing:
            self.stdout.write(f"missing file: {label} points at {key}, which is not in storage")
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(
            f"{total} orphan file(s) ({verb} {total - failed}), {len(audit.too_new)} too new "
            f"to judge, {len(audit.missing)} row(s) with a missing file"
        )
        if failed:
            raise CommandError(f"{failed} orphan file(s) could not be deleted")
