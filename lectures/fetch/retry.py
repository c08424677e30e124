"""Trying a fetch again: exponential back-off, the server's Retry-After, a resume budget.

Only :class:`~lectures.fetch.errors.TransientSourceError` is retried; permanent errors
pass through at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from lectures.fetch.errors import TransientSourceError
from lectures.fetch.guard import SourcePolicy

__all__ = ["backoff_delay", "retried_chunks", "with_retries"]

T = TypeVar("T")


def backoff_delay(policy: SourcePolicy, failures: int, error: TransientSourceError) -> float:
    """Exponential back-off, capped; a server's Retry-After wins when it is within the cap."""
    delay = min(policy.backoff_cap, policy.backoff_base * (2 ** (failures - 1)))
    if error.retry_after is not None:
        delay = min(policy.backoff_cap, max(delay, error.retry_after))
    return delay


class _Budget:
    """Consecutive failures and resumes so far. A failure that moved the fetch forward
    resets the count of consecutive failures: a long download may drop several times and
    still finish; ``max_resumes`` bounds those. Once ``stop`` is set (nobody wants what is
    fetched any more) no failure is tried again."""

    def __init__(self, policy: SourcePolicy, stop: threading.Event | None) -> None:
        self._policy = policy
        self._stop = stop
        self._failures = 0
        self._resumes = 0

    def wait_or_raise(self, error: TransientSourceError, *, made_progress: bool) -> None:
        """Sleep before the next attempt, or raise ``error`` when the budget is spent or
        the fetch is stopped (which also cuts the sleep short)."""
        if made_progress:
            self._failures, self._resumes = 1, self._resumes + 1
        else:
            self._failures += 1
        policy = self._policy
        if self._failures > policy.max_retries or self._resumes > policy.max_resumes:
            raise error
        delay = backoff_delay(policy, self._failures, error)
        if self._stop is None:
            time.sleep(delay)
        elif self._stop.is_set() or self._stop.wait(delay):
            raise error


def with_retries(
    policy: SourcePolicy, attempt: Callable[[], T], stop: threading.Event | None = None
) -> T:
    """Run ``attempt`` and return its result, retrying on :class:`TransientSourceError`
    until ``stop`` is set."""
    budget = _Budget(policy, stop)
    while True:
        try:
            return attempt()
        except TransientSourceError as error:
            budget.wait_or_raise(error, made_progress=error.made_progress)


def retried_chunks(
    policy: SourcePolicy,
    attempt: Callable[[], Iterator[bytes]],
    stop: threading.Event | None = None,
) -> Iterator[bytes]:
    """:func:`with_retries` for a stream: each call of ``attempt`` yields the bytes from
    where the previous one stopped (it keeps its own position). An attempt that yielded
    anything before it failed made progress."""
    budget = _Budget(policy, stop)
    while True:
        moved = False
        try:
            for chunk in attempt():
                moved = True
                yield chunk
            return
        except TransientSourceError as error:
            budget.wait_or_raise(error, made_progress=moved or error.made_progress)
