"""An answer in the metrics: a job of kind ``answer``, a chat provider request, its tokens."""

from __future__ import annotations

import pytest

from assistant.models import Message
from tests.assistant.chat_stub import Fault
from tests.assistant.conftest import ask, read_events
from tests.metrics import TOKEN, scrape

pytestmark = pytest.mark.django_db


def test_an_answer_counts_as_a_job_a_chat_request_and_the_prompts_tokens(
    alice_client, client, conversation, chat_stub, settings
):
    settings.METRICS_TOKEN = TOKEN
    chat_stub.faults = [Fault(503)]  # refused once, then answered
    before = scrape(client)

    read_events(ask(alice_client, conversation["id"], "How do cells make energy?"))

    after = scrape(client)

    def added(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    answer = Message.objects.get(role="answer")
    assert answer.status == "completed"
    assert added("studybuddy_jobs_total", kind="answer", outcome="completed") == 1
    assert added("studybuddy_job_duration_seconds_count", kind="answer", outcome="completed") == 1
    assert added("studybuddy_provider_requests_total", provider="chat", status="503") == 1
    assert added("studybuddy_provider_requests_total", provider="chat", status="200") == 1
    assert added("studybuddy_provider_tokens_total", provider="chat") == answer.prompt_tokens > 0
