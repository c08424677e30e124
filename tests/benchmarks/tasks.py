"""The task whose start the queue benchmark times."""

import time


def started() -> float:
    """When a worker began running this task (wall clock, same machine as the caller)."""
    return time.time()
