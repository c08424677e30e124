"""Trying a fetch again: exponential back-off, the server's Retry-After, a resume budget.

Only :class:`~lectures.fetch.errors.TransientSourceError` is retried; permanent errors
pass through at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from lectures.fetch.errors import TransientSourceError
from lectures.fetch.guard import SourcePolicy

__all__ = ["backoff_delay", "with_retries"]

T = TypeVar("T")


def backoff_delay(policy: SourcePolicy, failures: int, error: TransientSourceError) -> float:
    """Exponential back-off, capped; a server's Retry-After wins when it is within the cap."""
    delay = min(policy.backoff_cap, policy.backoff_base * (2 ** (failures - 1)))
    if error.retry_after is not None:
        delay = min(policy.backoff_cap, max(delay, error.retry_after))
    return delay


def with_retries(policy: SourcePolicy, attempt: Callable[[], T]) -> T:
    """Run ``attempt`` and return its result, retrying on :class:`TransientSourceError`.

    An error with ``made_progress`` resets the count of consecutive failures: a long
    download may drop several times and still finish; ``max_resumes`` bounds those.
    """
    failures = 0
    resumes = 0
    while True:
        try:
            return attempt()
        except TransientSourceError as error:
            if error.made_progress:
                failures, resumes = 1, resumes + 1
            else:
                failures += 1
            if failures > policy.max_retries or resumes > policy.max_resumes:
                raise
            time.sleep(backoff_delay(policy, failures, error))
