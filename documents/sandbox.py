"""The PDF sandbox: a PDF's text read in a bounded child process, page by page.

A PDF is untrusted input. The child (``documents/pdftext.py``, run as ``python -I``, never
imported by the service) limits its own CPU time (``RLIMIT_CPU``) and address space
(``RLIMIT_AS``), and the parent kills it past a wall-clock timeout. A compression bomb, a
reference loop, a page tree of ten thousand pages or an encrypted or truncated file costs
that child only: it ends with a short reason, is killed, or completes within
``DOCUMENT_TEXT_MAX_PAGES``; the worker goes on. Pages come back one JSON line each, each
line bounded, and are handed to the caller as they arrive, so the caller's memory need not
grow with the document.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from core.fulltext import clean_text

CHILD = Path(__file__).with_name("pdftext.py")


class TextExtractionError(Exception):
    """The PDF's text could not be read; the message is short and meant for people."""


@dataclass(frozen=True)
class Extraction:
    page_total: int  # pages the document has
    pages: int  # pages whose text was sent (the first ``max_pages``)
    truncated: bool  # pages or characters left out by the bounds


@dataclass(frozen=True)
class Limits:
    max_pages: int
    page_chars: int
    total_chars: int
    timeout_seconds: float
    memory_bytes: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            max_pages=settings.DOCUMENT_TEXT_MAX_PAGES,
            page_chars=settings.DOCUMENT_TEXT_PAGE_MAX_CHARS,
            total_chars=settings.DOCUMENT_TEXT_MAX_CHARS,
            timeout_seconds=settings.DOCUMENT_TEXT_TIMEOUT_SECONDS,
            memory_bytes=settings.DOCUMENT_TEXT_MEMORY_BYTES,
        )

    @property
    def line_bytes(self) -> int:
        # A page line: its text JSON-escaped (at most 12 bytes a character: a surrogate
        # pair as two \uXXXX) plus the frame.
        return self.page_chars * 12 + 1024


def extract_pdf_text(
    path: Path, *, on_page: Callable[[int, str], None], limits: Limits | None = None
) -> Extraction:
    """Read the text of the PDF at ``path`` in a bounded child process, calling
    ``on_page(number, text)`` for each page as it arrives (pages from 1; text cleaned).

    Raises ``TextExtractionError`` with a short reason when the PDF cannot be read within
    the limits. The child is always gone when this returns.
    """
    limits = limits or Limits.from_settings()
    command = [
        sys.executable,
        "-I",  # no project on sys.path, no environment variables, no user site
        str(CHILD),
        str(path),
        str(limits.max_pages),
        str(limits.page_chars),
        str(limits.total_chars),
        str(max(1, int(limits.timeout_seconds))),
        str(limits.memory_bytes),
    ]
    child = subprocess.Popen(  # noqa: S603 (our own program, a fixed argument list)
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        close_fds=True,
    )
    try:
        return _read_answer(child, on_page, limits)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stdout.close()


def _read_answer(
    child: subprocess.Popen, on_page: Callable[[int, str], None], limits: Limits
) -> Extraction:
    deadline = time.monotonic() + limits.timeout_seconds
    total: int | None = None
    pages = 0
    outcome: dict | None = None
    buffer = bytearray()
    fd = child.stdout.fileno()
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        eof = False
        while not eof:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                child.kill()
                raise TextExtractionError("reading the PDF took too long")
            if not selector.select(remaining):
                continue
            chunk = os.read(fd, 1024 * 1024)
            eof = not chunk
            buffer += chunk
            while (end := buffer.find(b"\n")) >= 0:
                line = bytes(buffer[:end])
                del buffer[: end + 1]
                message = _parse(line)
                if "page" in message:
                    number, text = message["page"], message.get("text")
                    if (
                        total is None
                        or number != pages + 1
                        or number > limits.max_pages
                        or not isinstance(text, str)
                        or len(text) > limits.page_chars
                    ):
                        raise _garbled(child)
                    pages = number
                    on_page(number, clean_text(text))
                elif "pages" in message:
                    total = message["pages"]
                    if not isinstance(total, int) or total < 0:
                        raise _garbled(child)
                else:
                    outcome = message
            if len(buffer) > limits.line_bytes:
                raise _garbled(child)
    try:
        status = child.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        child.kill()
        raise TextExtractionError("reading the PDF took too long") from None
    if outcome and "error" in outcome:
        raise TextExtractionError(str(outcome["error"])[:200])
    if status == -signal.SIGXCPU:
        raise TextExtractionError("reading the PDF took too long")
    if status == 3 or status == -signal.SIGKILL:  # no memory left to report, or OOM-killed
        raise TextExtractionError("the PDF needs too much memory to read")
    if status != 0 or not outcome or not outcome.get("done") or total is None:
        raise TextExtractionError("the PDF is malformed or damaged")
    return Extraction(page_total=total, pages=pages, truncated=bool(outcome.get("truncated")))


def _parse(line: bytes) -> dict:
    try:
        message = json.loads(line)
    except ValueError:
        message = None
    if not isinstance(message, dict):
        raise TextExtractionError("the PDF is malformed or damaged")
    return message


def _garbled(child: subprocess.Popen) -> TextExtractionError:
    child.kill()
    return TextExtractionError("the PDF is malformed or damaged")
