"""Running work in threads released at the same instant, as concurrent requests are."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connections


def run_concurrently(count: int, work: Callable[[int], object]) -> list[object]:
    """Run ``work(i)`` in ``count`` threads released together; return results in order.

    Each thread has its own database connection (as concurrent requests would), closed
    when it is done so the test database can be dropped.
    """
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as exc:  # reported to the test through the results
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results
