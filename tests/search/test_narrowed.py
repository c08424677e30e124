"""``search_material``'s ``lecture_ids`` and ``document_ids``: only the sources named."""

from __future__ import annotations

import pytest

from search.selectors import search_material
from tests.documents import pdfs
from tests.documents.text_helpers import extracted

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_documents(alice):
    return [
        extracted(alice, pdfs.text_pdf("Enzymes speed up reactions."), filename="a.pdf"),
        extracted(alice, pdfs.text_pdf("Enzymes fold into shapes."), filename="b.pdf"),
    ]


def titles(**narrowed) -> list[str]:
    page = narrowed.pop("page")
    return sorted(hit.title for hit in page(**narrowed).hits)


def test_named_documents_are_the_only_ones_searched(alice, two_documents):
    def page(**kwargs):
        return search_material(user=alice, q="enzymes", limit=10, **kwargs)

    assert titles(page=page) == ["a.pdf", "b.pdf"]
    assert titles(page=page, document_ids=[two_documents[1].id]) == ["b.pdf"]
    assert titles(page=page, document_ids=[]) == []
    assert titles(page=page, lecture_ids=[]) == []
