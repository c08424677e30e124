"""``manage.py assistant_usage [--days N]``: the assistant's tokens per account."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from assistant.selectors import usage_per_account


class Command(BaseCommand):
    help = "Print the study assistant's tokens (prompt, completion, total) per account."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--days", type=int, default=1, help="The last N UTC days, today included (1)."
        )

    def handle(self, *args, days: int, **options) -> None:
        """One line per account, most tokens first, and the total."""
        if days < 1:
            self.stderr.write("--days must be at least 1")
            raise SystemExit(2)
        rows = usage_per_account(days=days)
        self.stdout.write(f"{'account':<40} {'prompt':>10} {'completion':>10} {'total':>10}")
        for row in rows:
            self.stdout.write(
                f"{row['account']:<40} {row['prompt']:>10} {row['completion']:>10} "
                f"{row['total']:>10}"
            )
        total = sum(row["total"] for row in rows)
        self.stdout.write(f"{len(rows)} accounts, {total} tokens in the last {days} day(s)")
