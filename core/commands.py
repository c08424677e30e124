"""Argument types shared by the operators' management commands."""

from __future__ import annotations

import argparse
import datetime
import uuid


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
