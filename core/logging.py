"""Log lines that say which request or job they belong to, as text or JSON, without secrets.

- ``log_context(request_id=…)`` (``core.middleware``, per request) and ``log_context(job=…)``
  (``core.jobs.Job.run``) bind fields to every line logged inside the block. They live in
  a ``contextvars.ContextVar``; a thread starts with an empty context, so a job's threads
  run ``carry_context(function)`` to keep the job's.
- ``LogContextFilter``, on the handler, copies the fields onto each record: ``request_id``,
  ``job``, ``route``, and the access line's ``status`` and ``duration_ms`` (empty when unset).
- ``TextFormatter`` (``LOG_FORMAT=text``, the default) and ``JsonFormatter``
  (``LOG_FORMAT=json``, one object per line) write them, each line passed through
  ``core.redaction`` so that no token, key or signed URL reaches the log.

The JSON formatter is the standard library's ``json`` in thirty lines: no JSON logging
package is pinned, and one would be a dependency for what ``json.dumps`` does. This module
imports no Django, so gunicorn's master process formats its own lines with it too
(``deploy/web.py``).
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TypeVar

from core.redaction import redact

T = TypeVar("T")

_EMPTY: Mapping[str, str] = MappingProxyType({})
_fields: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "studybuddy_log_context", default=_EMPTY
)
CONTEXT_FIELDS = ("request_id", "job", "route")


@contextmanager
def log_context(**fields: str) -> Iterator[None]:
    """Every line logged in the block, in this thread, carries ``fields`` (``request_id``,
    ``job="transcript:<id>"``, ``route``) besides those of an enclosing block."""
    token = _fields.set(MappingProxyType({**_fields.get(), **fields}))
    try:
        yield
    finally:
        _fields.reset(token)


def bind(**fields: str) -> None:
    """Add ``fields`` to the current ``log_context`` block until it ends (a request's route,
    known once its URL is resolved)."""
    _fields.set(MappingProxyType({**_fields.get(), **fields}))


def carry_context(function: Callable[..., T]) -> Callable[..., T]:
    """``function``, to be run in another thread with this thread's log context. A new
    thread (a ``ThreadPoolExecutor``'s too) starts with an empty one, and its lines would
    not say whose they are. One call per thread or per submitted task: a context can be
    entered by one thread at a time."""
    return functools.partial(contextvars.copy_context().run, function)


_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>[^()]*\)")
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def route_template(request: Any) -> str:
    """The URL pattern that routed ``request``, ids as ``{name}``
    (``/api/lectures/{pk}/status``); ``""`` before its URL is resolved or when none matched.
    Never the path itself: ids and the query string stay out of the logs."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    route = _CONVERTER.sub(r"{\1}", _NAMED_GROUP.sub(r"{\1}", match.route))
    return "/" + route.replace("^", "").removesuffix("$").removesuffix("/?")


def field_value(value: object) -> str:
    """A value as a ``key=value`` log field shows it: a float with two decimals; a value
    with a space, a quote or ``=`` JSON-quoted, so no value can forge a field or a line."""
    if isinstance(value, float):
        return f"{value:.2f}"
    text = str(value)
    return json.dumps(text) if (not text or any(c.isspace() or c in '"=' for c in text)) else text


class LogContextFilter(logging.Filter):
    """Puts the log context on every record the handler writes: ``request_id``, ``job``,
    ``route`` (``""`` outside a request or a job), ``status`` and ``duration_ms``
    (``None`` but on the access line). Fields a record already has are kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = _fields.get()
        # Django logs a 4xx/5xx answer's line ("Not Found: /api/…") with the request, once
        # the middleware has returned: the request still knows its id and route.
        request = getattr(record, "request", None)
        fallback = {
            "request_id": getattr(request, "request_id", ""),
            "route": route_template(request) if hasattr(request, "request_id") else "",
        }
        for name in CONTEXT_FIELDS:
            if not getattr(record, name, None):
                setattr(record, name, fields.get(name) or fallback.get(name, ""))
        if getattr(record, "status", None) is None:
            record.status = getattr(record, "status_code", None)
        if not hasattr(record, "duration_ms"):
            record.duration_ms = None
        return True


class TextFormatter(logging.Formatter):
    """``<time> <LEVEL> <logger>[ request_id=…][ job=kind:id] <message>``, then the
    traceback, if any, on the lines below."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(context)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.context = "".join(
            f" {name}={field_value(value)}"
            for name in ("request_id", "job")
            if (value := getattr(record, name, ""))
        )
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (ISO 8601, UTC), ``level``, ``logger``,
    ``message``, ``request_id``, ``job``, ``route``, ``status``, ``duration_ms`` (``null``
    when unset), and ``exception``, the whole traceback as one string, when there is one.
    Non-ASCII characters are escaped, so no character of a message can end its line."""

    def format(self, record: logging.LogRecord) -> str:
        created = datetime.fromtimestamp(record.created, UTC)
        line: dict[str, Any] = {
            "time": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            **{name: getattr(record, name, "") or None for name in CONTEXT_FIELDS},
            "status": getattr(record, "status", None),
            "duration_ms": getattr(record, "duration_ms", None),
        }
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exception"] = redact(record.exc_text)
        if record.stack_info:
            line["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(line, default=str)
