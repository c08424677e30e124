"""Plain text checks with no framework behind them, so that any module can import them
(``core.validators`` pulls in DRF, whose settings import the authentication class)."""

from __future__ import annotations

import unicodedata

# Bidirectional embedding, override and isolate controls: they make text display as
# something other than what it is.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def is_control_character(char: str) -> bool:
    return unicodedata.category(char) == "Cc" or char in BIDI_CONTROLS


def without_control_characters(value: str) -> str:
    """``value`` with control characters, bidi controls and lone surrogates removed.

    For text taken from a third party and stored as given (token claims): refusing it
    would lock the person out, and PostgreSQL refuses NUL in text while lone surrogates
    cannot be encoded at all, so either would otherwise be a 500.
    """
    if value.isprintable():
        # The usual case, checked in C: printable text has no control (Cc), format (Cf,
        # the bidi controls among them) or surrogate (Cs) characters.
        return value
    return "".join(
        char
        for char in value
        if not is_control_character(char) and unicodedata.category(char) != "Cs"
    )
