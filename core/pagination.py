"""Limit/offset pagination with a bounded page size and a bounded offset.

The one rule for ``?limit=&offset=`` on every list and on search: a ``limit``
past ``max_limit`` gives ``max_limit`` rows, and a missing, zero, negative or non-integer one
gives ``default_limit`` (DRF's rule); a missing, negative or non-integer ``offset`` is 0
(DRF's rule too), and one past ``MAX_OFFSET`` is refused with 400 on ``offset``. Without
that bound an offset reaches the database as it came: PostgreSQL refuses an ``OFFSET`` past
a bigint with an error (a 500), and no list of one user's material comes near 10 million
rows.
"""

from __future__ import annotations

from typing import Any

from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

MAX_OFFSET = 10_000_000

LIMIT_DESCRIPTION = (
    "Page size, 1 to {max_limit} (default {default_limit}); a larger value gives "
    "{max_limit}, a zero, negative or non-integer one the default."
)
OFFSET_DESCRIPTION = (
    "How many results to skip, 0 to {max_offset} (default 0); a larger value is 400 on "
    "`offset`, a negative or non-integer one counts as 0."
)


def _longer_than(raw: str, bound: int) -> bool:
    """Whether ``raw`` is a non-negative integer, as ``int()`` reads one, with more
    significant digits than ``bound``. Counted rather than parsed: ``int()`` refuses more
    than 4,300 digits (DRF then falls back to the default), and such a number is past the
    bound like any other."""
    digits = raw.strip().removeprefix("+")
    return digits.isdecimal() and len(digits.lstrip("0")) > len(str(bound))


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    default_limit = 20
    max_limit = 100
    max_offset = MAX_OFFSET

    def get_limit(self, request: Request) -> int:
        if _longer_than(request.query_params.get(self.limit_query_param, ""), self.max_limit):
            return self.max_limit
        return super().get_limit(request)

    def get_offset(self, request: Request) -> int:
        if _longer_than(request.query_params.get(self.offset_query_param, ""), self.max_offset):
            self._refuse_offset()
        offset = super().get_offset(request)
        if offset > self.max_offset:
            self._refuse_offset()
        return offset

    def _refuse_offset(self) -> None:
        raise ValidationError(
            {
                self.offset_query_param: [
                    f"Ensure this value is less than or equal to {self.max_offset}."
                ]
            },
            code="max_value",
        )

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        limit, offset = super().get_schema_operation_parameters(view)
        limit["description"] = LIMIT_DESCRIPTION.format(
            max_limit=self.max_limit, default_limit=self.default_limit
        )
        limit["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_limit}
        offset["description"] = OFFSET_DESCRIPTION.format(max_offset=self.max_offset)
        offset["schema"] = {"type": "integer", "minimum": 0, "maximum": self.max_offset}
        return [limit, offset]
