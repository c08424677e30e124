from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from core.ratelimits import rate_limit_store
from tests.logs import CapturedLogs, captured_logs


@pytest.fixture
def rates(settings) -> Callable[..., None]:
    """``rates(api="2/minute", …)``: the rate of some scopes, the others as configured; the
    counters start from zero in the store configured when the test starts."""
    store = rate_limit_store()
    store.clear()

    def set_rates(**scopes: str) -> None:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**settings.THROTTLE_RATES, **scopes},
        }

    yield set_rates
    store.clear()


@pytest.fixture
def logs() -> Iterator[CapturedLogs]:
    """What the service logs during the test, as its handler writes it."""
    with captured_logs() as captured:
        yield captured
