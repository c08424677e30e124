"""Settle lectures stuck in downloading/extracting whose worker went silent."""

import math
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from core.commands import positive_int_argument
from lectures import selectors, services


class Command(BaseCommand):
    help = (
        "Find lectures stuck in downloading/extracting with no worker heartbeat for "
        "--older-than minutes, and mark them failed (or, with --requeue, queue them again; "
        "a lecture whose attempts are used up is failed). Also runs on a django-q2 schedule."
    )

    def add_arguments(self, parser):
        default = math.ceil(settings.LECTURE_STALE_SECONDS / 60)
        parser.add_argument(
            "--older-than",
            dest="minutes",
            type=positive_int_argument,
            default=default,
            metavar="MINUTES",
            help=f"silent for at least this long (default: {default})",
        )
        parser.add_argument(
            "--requeue", action="store_true", help="queue them again instead of failing them"
        )

    def handle(self, *args, minutes: int, requeue: bool, **options):
        stale_before = timezone.now() - timedelta(minutes=minutes)
        lectures = list(selectors.lecture_list_stale(stale_before=stale_before))
        counts = {"failed": 0, "queued": 0, "skipped": 0}
        for number, lecture in enumerate(lectures, start=1):
            line = (
                f"[{number}/{len(lectures)}] {lecture.id} {lecture.course.code} "
                f"{lecture.title!r}: {lecture.status} at {lecture.progress}%"
            )
            outcome = services.lecture_reap_stale(
                lecture_id=lecture.id, stale_before=stale_before, requeue=requeue
            )
            counts[outcome or "skipped"] += 1
            self.stdout.write(f"{line} -> {outcome or 'skipped, it moved on'}")
        self.stdout.write(
            f"{len(lectures)} stale lecture(s) (no heartbeat for {minutes} min): "
            f"{counts['failed']} failed, {counts['queued']} queued, {counts['skipped']} skipped"
        )
