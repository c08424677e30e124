"""What a download reports back while it runs: its progress, throttled."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Progress", "ProgressCallback"]

ProgressCallback = Callable[[float], None]


class Progress:
    """Calls the callback only when the fraction moved by at least 0.1 %.

    The callback writes to the database (throttled again there); a call per socket read
    would cost more than the read.
    """

    def __init__(self, callback: ProgressCallback | None) -> None:
        self._callback = callback
        self._last = -1.0

    def __call__(self, done: int, total: int | None) -> None:
        if self._callback is None or not total:
            return
        fraction = min(1.0, done / total)
        if fraction - self._last >= 0.001 or (fraction == 1.0 and self._last < 1.0):
            self._last = fraction
            self._callback(fraction)
