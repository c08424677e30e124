"""Waiting in tests: for a condition, polled until a deadline, never for a fixed time.

The deadline only fails a test that hangs; it is no claim about speed (``make bench``
measures that), so it is generous.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")

POLL_SECONDS = 0.01


def poll_until(predicate: Callable[[], T], *, timeout: float) -> T | None:
    """Poll ``predicate`` until it returns something truthy, and return that; ``None``
    after ``timeout`` seconds. For a stub's thread, where failing the test is not its call."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(POLL_SECONDS)


def wait_until(predicate: Callable[[], T], *, timeout: float = 10.0, message: str) -> T:
    """Poll ``predicate`` until it returns something truthy, and return that; fail the test
    with ``message`` if it has not after ``timeout`` seconds."""
    value = poll_until(predicate, timeout=timeout)
    if not value:
        pytest.fail(f"{message} (waited {timeout:g} s)")
    return value


def finishes(call: Callable[[], T], *, timeout: float = 60.0, message: str) -> T:
    """``call()``, run in a thread: its result, or what it raised; the test fails with
    ``message`` if it has not returned after ``timeout`` seconds (it is left running)."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # re-raised in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True, name="tests.waiting.finishes")
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        pytest.fail(f"{message} (still running after {timeout:g} s)")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
