"""Reading a PDF's text in the bounded child process: real PDFs, hostile ones, and children
that misbehave. Each hostile file ends ``completed`` or ``failed`` with a short message,
and this process (the worker) is unharmed: same memory, no child left, next PDF read."""

from __future__ import annotations

import os
import resource
import sys
from pathlib import Path

import psutil
import pytest

from documents import sandbox
from documents.sandbox import Limits, TextExtractionError, extract_pdf_text
from tests.documents import pdfs
from tests.waiting import finishes

LIMITS = Limits(
    max_pages=2000,
    page_chars=100_000,
    total_chars=10_000_000,
    timeout_seconds=20,
    memory_bytes=512 * 1024 * 1024,
)


def read(tmp_path: Path, data: bytes, limits: Limits = LIMITS):
    path = tmp_path / "document.pdf"
    path.write_bytes(data)
    pages: list[tuple[int, str]] = []
    result = extract_pdf_text(path, on_page=lambda n, t: pages.append((n, t)), limits=limits)
    return result, pages


def no_children_left() -> bool:
    """No reader process of ours is left (other children, such as the S3 server of the
    session, do not count)."""
    readers = []
    for child in psutil.Process().children(recursive=True):
        try:
            command = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "pdftext.py" in command or "child.py" in command:
            readers.append(child)
    return readers == []


def test_every_page_comes_back_in_order_with_its_text(tmp_path):
    data = pdfs.text_pdf("Linear algebra\nmatrices and arrays", "Page two: vectors", None)

    result, pages = read(tmp_path, data)

    assert (result.page_total, result.pages, result.truncated) == (3, 3, False)
    assert pages == [(1, "Linear algebra\nmatrices and arrays"), (2, "Page two: vectors"), (3, "")]


def test_accented_french_and_german_come_back_as_written(tmp_path):
    data = pdfs.text_pdf("Élève à l'école: café, naïve, œuvre, façade", "Größe Übung Straße Äpfel")

    _result, pages = read(tmp_path, data)

    assert pages == [
        (1, "Élève à l'école: café, naïve, œuvre, façade"),
        (2, "Größe Übung Straße Äpfel"),
    ]


def test_compressed_content_streams_are_read(tmp_path):
    _result, pages = read(tmp_path, pdfs.text_pdf("deflated words", compress=True))

    assert pages == [(1, "deflated words")]


def test_control_characters_and_nul_are_removed_before_storage(tmp_path):
    data = pdfs.text_pdf("tab\there bell\x07 escape\x1b end")

    _result, pages = read(tmp_path, data)

    assert pages == [(1, "tab\there bell escape end")]


# --- The hostile set --------------------------------------------------------------------


def test_a_compression_bomb_does_not_inflate_the_worker(tmp_path):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    result, pages = read(tmp_path, pdfs.compression_bomb())  # 2 GiB of spaces from ~2 MB

    # pypdf stops inflating at its own output limit: the page has no text, and the rest of
    # the document (here, nothing) is read.
    assert (result.page_total, pages) == (1, [(1, "")])
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 50 * 1024
    assert no_children_left()


def test_a_page_tree_that_contains_itself_fails_as_malformed(tmp_path):
    with pytest.raises(TextExtractionError) as failure:
        read(tmp_path, pdfs.reference_loop())

    assert str(failure.value) == "the PDF is malformed or damaged"
    assert no_children_left()


def test_objects_nested_a_hundred_thousand_deep_fail_as_malformed(tmp_path):
    with pytest.raises(TextExtractionError) as failure:
        read(tmp_path, pdfs.deep_nesting())

    assert str(failure.value).startswith("the PDF is malformed")


def test_ten_thousand_empty_pages_complete_with_the_first_max_pages(tmp_path):
    result, pages = read(tmp_path, pdfs.empty_pages(10_000))

    assert (result.page_total, result.pages, result.truncated) == (10_000, 2000, True)
    assert pages == [(number, "") for number in range(1, 2001)]


def test_an_encrypted_pdf_fails_as_encrypted(tmp_path):
    with pytest.raises(TextExtractionError) as failure:
        read(tmp_path, pdfs.encrypted())

    assert str(failure.value) == "the PDF is encrypted"


def test_a_pdf_encrypted_with_an_empty_password_is_read(tmp_path):
    _result, pages = read(tmp_path, pdfs.encrypted_without_password())

    assert pages == [(1, "confidential matrix")]


def test_a_truncated_pdf_fails_as_damaged(tmp_path):
    whole = pdfs.text_pdf(*[f"page {n} of the notes" for n in range(1, 21)])

    with pytest.raises(TextExtractionError) as failure:
        read(tmp_path, pdfs.truncated(whole))

    assert str(failure.value) == "the PDF is malformed or damaged"


def test_bytes_that_are_not_a_pdf_fail_as_damaged(tmp_path):
    with pytest.raises(TextExtractionError):
        read(tmp_path, b"%PDF-1.7\n" + os.urandom(4096))


def test_after_the_hostile_set_the_next_pdf_is_read_as_usual(tmp_path):
    for hostile in (pdfs.reference_loop(), pdfs.encrypted(), pdfs.deep_nesting()):
        with pytest.raises(TextExtractionError):
            read(tmp_path, hostile)

    _result, pages = read(tmp_path, pdfs.text_pdf("still working"))

    assert pages == [(1, "still working")]
    assert no_children_left()


# --- Bounds on the child ------------------------------------------------------------------


def fake_child(tmp_path: Path, monkeypatch, source: str) -> None:
    """Run ``source`` as the child instead of the real reader."""
    script = tmp_path / "child.py"
    script.write_text(source)
    monkeypatch.setattr(sandbox, "CHILD", script)


def short(**changes) -> Limits:
    return Limits(**{**LIMITS.__dict__, **changes})


def test_a_child_that_hangs_is_killed_at_the_wall_clock_timeout(tmp_path, monkeypatch):
    # A child left to end by itself would be "malformed" (no answer), and only after 60 s.
    fake_child(tmp_path, monkeypatch, "import time\ntime.sleep(60)\n")

    with pytest.raises(TextExtractionError) as failure:
        finishes(
            lambda: read(tmp_path, pdfs.text_pdf("x"), short(timeout_seconds=1)),
            timeout=30,
            message="the hanging child was not killed at the wall-clock timeout",
        )

    assert str(failure.value) == "reading the PDF took too long"
    assert no_children_left()


def test_a_child_that_spins_is_stopped_by_its_cpu_limit(tmp_path, monkeypatch):
    # The real child's own limits, then a busy loop; a wall-clock timeout longer than the
    # test waits, so the CPU limit is what stops it.
    source = (
        "import sys\n"
        f"sys.path.insert(0, {str(Path(sandbox.__file__).parent)!r})\n"
        "import pdftext\n"
        "pdftext._limit_self(1, 512 * 1024 * 1024)\n"
        "while True:\n    pass\n"
    )
    fake_child(tmp_path, monkeypatch, source)

    with pytest.raises(TextExtractionError) as failure:
        finishes(
            lambda: read(tmp_path, pdfs.text_pdf("x"), short(timeout_seconds=120)),
            timeout=60,
            message="the spinning child was not stopped by its CPU limit",
        )

    assert str(failure.value) == "reading the PDF took too long"


def test_a_child_over_its_memory_bound_fails_with_a_short_message(tmp_path, monkeypatch):
    # The real child's main (its limits, its error report), reading with a step that wants
    # 1 GiB at once under a 128 MiB address-space bound.
    source = (
        "import sys\n"
        f"sys.path.insert(0, {str(Path(sandbox.__file__).parent)!r})\n"
        "import pdftext\n"
        "def greedy(*args):\n    return bytearray(1024 ** 3)\n"
        "pdftext.extract = greedy\n"
        "sys.exit(pdftext.main(sys.argv))\n"
    )
    fake_child(tmp_path, monkeypatch, source)

    with pytest.raises(TextExtractionError) as failure:
        read(tmp_path, pdfs.text_pdf("x"), short(memory_bytes=128 * 1024 * 1024))

    assert str(failure.value) == "the PDF needs too much memory to read"
    assert no_children_left()


def test_a_child_that_sends_an_endless_line_is_cut_off(tmp_path, monkeypatch):
    fake_child(
        tmp_path, monkeypatch, "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n"
    )

    with pytest.raises(TextExtractionError) as failure:
        read(tmp_path, pdfs.text_pdf("x"), short(page_chars=1000))

    assert str(failure.value) == "the PDF is malformed or damaged"
    assert no_children_left()


def test_a_child_that_dies_without_finishing_is_a_damaged_pdf(tmp_path, monkeypatch):
    fake_child(
        tmp_path, monkeypatch, 'print(\'{"pages": 2}\')\nprint(\'{"page": 1, "text": "a"}\')\n'
    )

    with pytest.raises(TextExtractionError) as failure:
        read(tmp_path, pdfs.text_pdf("x"))

    assert str(failure.value) == "the PDF is malformed or damaged"


@pytest.mark.parametrize(
    "lines",
    [
        ['{"page": 1, "text": "no page count first"}'],
        ['{"pages": "many"}'],
        ['{"pages": 3}', '{"page": 2, "text": "out of order"}'],
        ['{"pages": 3}', '{"page": 1}'],
        ['{"pages": 3}', '{"page": 1, "text": "' + "x" * 2000 + '"}'],
        ['{"pages": 5000}', *[f'{{"page": {n}, "text": ""}}' for n in range(1, 2002)]],
        ["not json at all"],
    ],
    ids=[
        "no count",
        "bad count",
        "out of order",
        "no text",
        "over the page bound",
        "too many",
        "junk",
    ],
)
def test_an_answer_out_of_protocol_is_a_damaged_pdf(tmp_path, monkeypatch, lines):
    fake_child(tmp_path, monkeypatch, f"print({chr(10).join(lines)!r})\n")

    with pytest.raises(TextExtractionError) as failure:
        read(tmp_path, pdfs.text_pdf("x"), short(page_chars=1000))

    assert str(failure.value) == "the PDF is malformed or damaged"
    assert no_children_left()


def test_each_page_and_the_whole_text_are_bounded(tmp_path):
    long_page = " ".join(["word"] * 400)  # 1999 characters
    data = pdfs.text_pdf(long_page, long_page, long_page)

    result, pages = read(tmp_path, data, short(page_chars=1000, total_chars=1500))

    assert [len(text) for _n, text in pages] == [1000, 500, 0]
    assert result.truncated


def test_the_child_runs_isolated_from_the_project(tmp_path, monkeypatch):
    # -I: no project directory on sys.path, no PYTHON* variables. (The project directory
    # itself, or the current one: a virtualenv inside the checkout is on the path rightly.)
    project = str(Path.cwd())
    fake_child(
        tmp_path,
        monkeypatch,
        "import json, sys\n"
        "print(json.dumps({'pages': 1}))\n"
        f"found = [p for p in sys.path if p.rstrip('/') in ({project!r}, '', '.')]\n"
        "print(json.dumps({'page': 1, 'text': repr(found)}))\n"
        "print(json.dumps({'done': True}))\n",
    )
    monkeypatch.setenv("PYTHONPATH", project)

    _result, pages = read(tmp_path, pdfs.text_pdf("x"))

    assert pages == [(1, "[]")]
    assert sys.executable  # the same interpreter (and so pypdf) as the worker
