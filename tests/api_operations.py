"""The API's operations as its OpenAPI document lists them: tests that must cover every
route take their list from here, so a new route is covered the day it is added."""

from __future__ import annotations

from drf_spectacular.generators import SchemaGenerator


def documented_operations() -> list[tuple[str, str]]:
    """``(METHOD, path)`` of every operation, from the schema the code generates."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    return [(method.upper(), path) for path, item in document["paths"].items() for method in item]


def public_operations() -> set[tuple[str, str]]:
    """The operations that take no session token (no ``security`` in the schema)."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if not any(operation.get("security") or [])
    }
