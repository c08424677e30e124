"""The service's log lines, captured in a test as its handler writes them: through its
filter (``core.logging.LogContextFilter``) and its two formatters."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from core.logging import JsonFormatter, LogContextFilter, TextFormatter

# The loggers the settings give a handler: the root, and django's, which does not propagate.
HANDLED_LOGGERS = ("", "django")


class CapturedLogs:
    """Lines logged meanwhile, in every thread: ``lines()`` as ``LOG_FORMAT=json`` writes
    them (parsed), ``text()`` as ``LOG_FORMAT=text`` does, ``records`` once filtered."""

    def __init__(self) -> None:
        self._json = io.StringIO()
        self._text = io.StringIO()
        self.records: list[logging.LogRecord] = []
        self.handlers = [
            self._handler(logging.StreamHandler(self._json), JsonFormatter()),
            self._handler(logging.StreamHandler(self._text), TextFormatter()),
            self._handler(_Recorder(self.records), None),
        ]

    @staticmethod
    def _handler(handler: logging.Handler, formatter: logging.Formatter | None):
        handler.addFilter(LogContextFilter())
        handler.setFormatter(formatter)
        return handler

    def raw_json(self) -> str:
        return self._json.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.raw_json().splitlines()]

    def text(self) -> str:
        return self._text.getvalue()

    def access_lines(self) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line["logger"] == "studybuddy.requests"]


class _Recorder(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__()
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def captured_logs() -> Iterator[CapturedLogs]:
    captured = CapturedLogs()
    loggers = [logging.getLogger(name) for name in HANDLED_LOGGERS]
    for logger in loggers:
        for handler in captured.handlers:
            logger.addHandler(handler)
    try:
        yield captured
    finally:
        for logger in loggers:
            for handler in captured.handlers:
                logger.removeHandler(handler)
