"""File names as the service cleans them, whatever reached it (not only via HTTP)."""

from __future__ import annotations

import pytest

from documents.validation import clean_filename


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("notes.pdf", "notes.pdf"),
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\me\\thesis.pdf", "thesis.pdf"),
        ("a\x00b.pdf", "ab.pdf"),
        ("two\nlines\r.pdf", "twolines.pdf"),
        ("report\u202efdp.exe", "reportfdp.exe"),
        ("\u2066isolated\u2069.pdf", "isolated.pdf"),
        ("para\u2029sep.pdf", "parasep.pdf"),
        ("  lots   of   space  .pdf ", "lots of space.pdf"),
        ("...pdf", "document.pdf"),
        (".pdf", "document.pdf"),
        ("", "document"),
        ("Cafe\u0301.pdf", "Caf\u00e9.pdf"),
        ("x" * 5000 + ".pdf", "x" * 251 + ".pdf"),
        ("x" * 300, "x" * 255),
        ("name." + "e" * 40, ("name." + "e" * 40)[:255]),
    ],
)
def test_clean_filename(raw, clean):
    assert clean_filename(raw) == clean
    assert len(clean_filename(raw)) <= 255
