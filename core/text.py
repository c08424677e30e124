"""Text checks with no dependency on DRF, so that modules loaded while DRF's settings are
still being read (the authentication class and what it imports) can use them."""

from __future__ import annotations

import unicodedata

# Bidirectional embedding, override and isolate controls: they make text display as
# something other than what it is.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def is_control_character(char: str) -> bool:
    return unicodedata.category(char) == "Cc" or char in BIDI_CONTROLS
