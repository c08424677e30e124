"""The child process that reads a PDF's text: ``python -I pdftext.py FILE LIMITS``.

Run by ``documents.sandbox`` (never imported by the service): a PDF is untrusted input, and a
compression bomb, a reference loop or ten thousand pages must cost this process, never the
worker. So it imports nothing of the project (``-I`` keeps the project off ``sys.path``),
bounds itself before it opens the file (CPU seconds and address space, no files written,
no core dump), and answers on stdout, one JSON object per line, ASCII only:

    {"pages": 12}                    the document's page count, once it is open
    {"page": 1, "text": "…"}         each page, from 1, at most ``max_pages`` of them
    {"done": true, "truncated": false}
    {"error": "the PDF is encrypted"} instead, when it cannot be read (exit status 1)

Each page's text is cut at ``page_chars`` characters and the document's at ``total_chars``
(later pages then come back empty, ``truncated`` true), so the parent can bound every line.
The CPU limit ends the process with SIGXCPU, the memory limit turns into ``MemoryError``
(reported as an error line when there is still room to report it); the parent's wall-clock
timeout covers the rest.
"""

from __future__ import annotations

import json
import logging
import resource
import sys
import warnings

_USAGE = "usage: pdftext.py FILE MAX_PAGES PAGE_CHARS TOTAL_CHARS CPU_SECONDS MEMORY_BYTES"


def _limit_self(cpu_seconds: int, memory_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _say(message: dict) -> None:
    sys.stdout.write(json.dumps(message, ensure_ascii=True) + "\n")
    sys.stdout.flush()


def _reason(error: BaseException) -> str:
    """A short message for people; the details are the PDF's, not worth a log line."""
    from pypdf.errors import FileNotDecryptedError, LimitReachedError

    if isinstance(error, MemoryError):
        return "the PDF needs too much memory to read"
    if isinstance(error, RecursionError):
        return "the PDF is malformed (objects nested too deeply)"
    if isinstance(error, FileNotDecryptedError):
        return "the PDF is encrypted"
    if isinstance(error, LimitReachedError):
        return "the PDF is too large to read"
    return "the PDF is malformed or damaged"


def extract(path: str, max_pages: int, page_chars: int, total_chars: int) -> None:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, LimitReachedError

    reader = PdfReader(path, strict=False)
    if reader.is_encrypted:
        # Many PDFs are "encrypted" with an empty user password (copy protection only).
        try:
            opened = reader.decrypt("")
        except Exception:
            opened = 0
        if not opened:
            raise FileNotDecryptedError("encrypted")
    total = len(reader.pages)
    _say({"pages": total})
    budget = total_chars
    for number in range(1, min(total, max_pages) + 1):
        text = ""
        if budget > 0:
            try:
                text = reader.pages[number - 1].extract_text() or ""
            except (MemoryError, RecursionError, FileNotDecryptedError):
                raise
            except LimitReachedError:
                text = ""  # a bomb in one page's content: that page has no text
            except Exception:
                text = ""  # one damaged page does not lose the others
            text = text[: min(page_chars, budget)]
            budget -= len(text)
        _say({"page": number, "text": text})
    _say({"done": True, "truncated": budget <= 0 or total > max_pages})


def main(argv: list[str]) -> int:
    if len(argv) != 7:
        sys.stderr.write(_USAGE + "\n")
        return 2
    path = argv[1]
    max_pages, page_chars, total_chars, cpu_seconds, memory_bytes = map(int, argv[2:])
    _limit_self(cpu_seconds, memory_bytes)
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    try:
        extract(path, max_pages, page_chars, total_chars)
    except BaseException as error:
        try:
            _say({"error": _reason(error)})
        except BaseException:
            return 3  # no memory left even to say so: the exit status tells the parent
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
