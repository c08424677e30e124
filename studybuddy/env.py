"""The one reader of configuration from the environment.

Every setting the service takes from the environment goes through these helpers, so a
bad value stops start-up with one clear line (``ImproperlyConfigured``) naming the variable.
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def is_set(name: str) -> bool:
    """True when the variable is present and not blank."""
    return bool(os.environ.get(name, "").strip())


def env_str(name: str, default: str = "") -> str:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip()


def env_bool(name: str, default: bool) -> bool:
    raw = env_str(name)
    if not raw:
        return default
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = env_str(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    """A comma-separated list; blank items are dropped."""
    raw = env_str(name)
    if not raw:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env_str(name, default).lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


_RATE_UNITS = {
    **dict.fromkeys(("s", "sec", "second"), "second"),
    **dict.fromkeys(("m", "min", "minute"), "minute"),
    **dict.fromkeys(("h", "hour"), "hour"),
    **dict.fromkeys(("d", "day"), "day"),
}


def env_rate(name: str, default: str) -> str:
    """A request rate ``N/period`` (period: second, minute, hour or day, or ``s``, ``m``,
    ``h``, ``d``; plurals accepted), returned as ``N/period`` with the period spelled out."""
    raw = env_str(name, default)
    count, _, unit = raw.replace(" ", "").lower().partition("/")
    if len(unit) > 3:
        unit = unit.removesuffix("s")
    period = _RATE_UNITS.get(unit)
    if not (count.isascii() and count.isdigit()) or int(count) < 1 or period is None:
        raise ImproperlyConfigured(
            f"{name} must be a rate such as 60/hour (N/second, minute, hour or day), not {raw!r}"
        )
    return f"{int(count)}/{period}"
