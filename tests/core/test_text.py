"""Text cleaning for what third parties send (token claims, PDF text)."""

import pytest

from core.text import without_control_characters


@pytest.mark.parametrize(
    ("value", "cleaned"),
    [
        ("Zoë O'Brien-Łukasz 李", "Zoë O'Brien-Łukasz 李"),
        ("Ann\x00\x07 Lee\n", "Ann Lee"),
        ("\u202eevil\u202c name\u2066", "evil name"),
        ("half \ud800 pair", "half  pair"),
        ("", ""),
    ],
    ids=["printable", "controls", "bidi", "lone-surrogate", "empty"],
)
def test_control_bidi_and_surrogate_characters_are_removed_and_the_rest_kept(value, cleaned):
    assert without_control_characters(value) == cleaned
