"""What the operators' management commands share: argument types, the loop of a command
that queues or runs a selection of jobs, its summary line."""

from __future__ import annotations

import argparse
import datetime
import uuid
from collections.abc import Callable, Sequence
from typing import TypeVar

from django.core.management.base import BaseCommand

T = TypeVar("T")


def uuid_argument(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a UUID") from None


def date_argument(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def positive_int_argument(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of at least 1")
    return number


def batch_summary(
    total: int, counts: dict[str, int], *, things: str, would: str, dry_run: bool, wait: bool
) -> str:
    """The last line of a command that queues (or, with ``--wait``, runs) a selection of
    jobs: ``"3 lecture(s): 2 completed, 1 failed, 0 skipped"``. ``things`` names what was
    selected (``"lecture(s)"``), ``would`` what a dry run would have done to them."""
    if dry_run:
        return f"{total} {things} would be {would} (dry run: nothing changed)"
    done = ["completed", "failed"] if wait else ["queued"]
    return f"{total} {things}: " + ", ".join(
        f"{counts[name]} {name}" for name in [*done, "skipped"]
    )


def queue_or_run_each(
    command: BaseCommand,
    items: Sequence[T],
    *,
    line: Callable[[T], str],
    would: Callable[[T], str],
    requeue: Callable[[T, bool], str],
    run: Callable[[T], tuple[bool, str]],
    things: str,
    verb: str,
    dry_run: bool,
    wait: bool,
) -> dict[str, int]:
    """The loop of a command that queues the jobs of a selection, or runs them here
    (``--wait``): one line per item (``[2/5] <line(item)>: …``), then ``batch_summary``.

    ``would(item)`` ends an item's line in a dry run; ``requeue(item, enqueue)`` queues the
    job (on the task queue only with ``enqueue``) and returns ``"queued"`` or why it did
    not; ``run(item)`` runs the queued job here and returns whether it completed and what
    to print. Returns the counts: ``queued``, ``completed``, ``failed``, ``skipped``.
    """
    counts = {"queued": 0, "completed": 0, "failed": 0, "skipped": 0}
    total = len(items)
    for number, item in enumerate(items, start=1):
        head = f"[{number}/{total}] {line(item)}"
        if dry_run:
            command.stdout.write(f"{head}: {would(item)}")
            continue
        result = requeue(item, not wait)
        if result != "queued":
            counts["skipped"] += 1
            command.stdout.write(f"{head}: {result}")
            continue
        if not wait:
            counts["queued"] += 1
            command.stdout.write(f"{head}: queued")
            continue
        completed, detail = run(item)
        counts["completed" if completed else "failed"] += 1
        command.stdout.write(f"{head}: {detail}")
    command.stdout.write(
        batch_summary(total, counts, things=things, would=verb, dry_run=dry_run, wait=wait)
    )
    return counts
