"""The assistant's tests: a chat provider stub on loopback, and a student with material."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.assistant.chat_stub import API_KEY, ChatStub
from tests.documents import pdfs
from tests.documents.text_helpers import extracted
from tests.factories import CourseFactory, EnrollmentFactory

CANARY = "zebracanary quokka secret of bob"


@pytest.fixture
def chat_stub() -> Iterator[ChatStub]:
    stub = ChatStub().start()
    yield stub
    stub.stop()


@pytest.fixture
def assistant_settings(settings, chat_stub: ChatStub):
    """The assistant on, pointed at the stub, with quick retries and short timeouts."""
    settings.ASSISTANT_BACKEND = "openai"
    settings.ASSISTANT_BASE_URL = chat_stub.base_url
    settings.ASSISTANT_API_KEY = API_KEY
    settings.ASSISTANT_MODEL = "stub-model"
    settings.ASSISTANT_FIRST_TOKEN_SECONDS = 2.0
    settings.ASSISTANT_RETRY_BACKOFF_SECONDS = 0.01
    settings.ASSISTANT_RETRY_BACKOFF_CAP_SECONDS = 0.05
    settings.EMBEDDINGS_BACKEND = "none"
    return settings


@pytest.fixture
def biology(alice):
    """Alice's biology course, with her notes on cells."""
    course = EnrollmentFactory(user=alice, course=CourseFactory(code="BIO 101")).course
    extracted(
        alice,
        pdfs.text_pdf(
            "Mitochondria produce energy for the cell as ATP.",
            "Photosynthesis happens in chloroplasts of plant cells.",
        ),
        course=course,
        filename="cells.pdf",
    )
    return course


@pytest.fixture
def bobs_notes(bob):
    """Bob's notes, on the same words as Alice's, with a phrase nobody else may ever see."""
    course = EnrollmentFactory(user=bob, course=CourseFactory(code="BIO 102")).course
    return extracted(
        bob,
        pdfs.text_pdf(
            f"Mitochondria energy cell notes students instructions {CANARY}.",
        ),
        course=course,
        filename="bob.pdf",
    )


@pytest.fixture
def conversation(alice_client, assistant_settings, biology) -> dict:
    response = alice_client.post(
        "/api/conversations", {"course_id": str(biology.id)}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def ask(client, conversation_id: str, content: str, **extra):
    return client.post(
        f"/api/conversations/{conversation_id}/messages",
        {"content": content, **extra},
        format="json",
        HTTP_ACCEPT="text/event-stream",
    )


def read_events(response) -> list:
    """The stream's events, as parsed JSON, and ``"[DONE]"`` for the last line."""
    body = b"".join(response.streaming_content).decode()
    assert body.endswith("\n\n")
    found = []
    for block in body.split("\n\n")[:-1]:
        assert block.startswith("data: "), block
        payload = block[len("data: ") :]
        found.append(payload if payload == "[DONE]" else json.loads(payload))
    return found
