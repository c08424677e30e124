"""Request body parsers whose refusals are 400s, whatever the body."""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, with a body nested past the interpreter's recursion limit (a few
    kilobytes of ``[``) answered 400 instead of escaping as a ``RecursionError`` (500).

    Numbers past Python's 4,300-digit conversion limit raise ``ValueError``, which DRF
    already turns into the same 400.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
