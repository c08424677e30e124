"""``/api/conversations``: the caller's own, the assistant's limits, and what goes with the
user."""

from __future__ import annotations

import datetime as dt
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from assistant.models import Conversation, DailyUsage, Message
from tests.assistant.conftest import ask, read_events
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db


def test_a_conversation_is_created_listed_renamed_and_deleted(alice_client, conversation):
    assert conversation["title"] == ""
    url = f"/api/conversations/{conversation['id']}"

    renamed = alice_client.patch(url, {"title": "Cells"}, format="json")
    listed = alice_client.get("/api/conversations").json()
    deleted = alice_client.delete(url)

    assert renamed.json()["title"] == "Cells"
    assert [c["id"] for c in listed["results"]] == [conversation["id"]]
    assert deleted.status_code == 204
    assert alice_client.get(url).status_code == 404


def test_a_course_not_in_my_list_is_refused(alice_client, assistant_settings):
    response = alice_client.post(
        "/api/conversations", {"course_id": str(CourseFactory().id)}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "course_id" in response.json()["errors"]


def test_another_users_conversation_is_not_found(bob_client, conversation):
    url = f"/api/conversations/{conversation['id']}"

    assert bob_client.get(url).status_code == 404
    assert bob_client.patch(url, {"title": "x"}, format="json").status_code == 404
    assert bob_client.delete(url).status_code == 404
    assert ask(bob_client, conversation["id"], "hello").status_code == 404
    assert Message.objects.count() == 0


@pytest.mark.parametrize("field", ["course_id", "lecture_ids", "document_ids"])
def test_scope_ids_i_cannot_see_are_not_found(alice_client, conversation, bobs_notes, field):
    value = {
        "course_id": str(bobs_notes.course_id),
        "lecture_ids": [str(uuid.uuid4())],
        "document_ids": [str(bobs_notes.id)],
    }[field]

    response = ask(alice_client, conversation["id"], "energy", scope={field: value})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert Message.objects.count() == 0


def test_a_scope_of_my_documents_narrows_the_sources(
    alice_client, conversation, biology, chat_stub
):
    other = biology.documents.get()
    found = read_events(
        ask(alice_client, conversation["id"], "energy cells", scope={"document_ids": []})
    )

    assert [e["type"] for e in found if isinstance(e, dict)][1] == "text-start"
    assert chat_stub.received == []
    found = read_events(
        ask(alice_client, conversation["id"], "energy", scope={"document_ids": [str(other.id)]})
    )
    assert found[1]["data"]["id"] == str(other.id)


@pytest.mark.parametrize("content", ["   ", "x" * 4001], ids=["blank", "4001-characters"])
def test_a_question_blank_or_too_long_is_refused_and_nothing_is_stored(
    alice_client, conversation, content, chat_stub
):
    response = ask(alice_client, conversation["id"], content)

    assert response.status_code == 400
    assert "content" in response.json()["errors"]
    assert not Message.objects.exists()
    assert chat_stub.received == []


def test_the_assistant_switched_off_answers_409(alice_client, conversation, settings):
    settings.ASSISTANT_BACKEND = "none"

    response = alice_client.get("/api/conversations")

    assert response.status_code == 409
    assert response.json()["code"] == "assistant_disabled"


def test_a_spent_daily_quota_is_refused_before_the_provider_is_called(
    alice_client, conversation, chat_stub, assistant_settings
):
    read_events(ask(alice_client, conversation["id"], "How do cells make energy?"))
    spent = DailyUsage.objects.get().total_tokens
    assistant_settings.USER_ASSISTANT_DAILY_TOKENS = spent

    response = ask(alice_client, conversation["id"], "How do cells make energy?")

    assert response.status_code == 403
    assert response.json()["code"] == "quota_exceeded"
    assert len(chat_stub.received) == 1


def test_the_rate_limit_answers_429_throttled(alice_client, conversation, assistant_settings):
    assistant_settings.REST_FRAMEWORK = {
        **assistant_settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **assistant_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "assistant_messages": "1/hour",
        },
    }
    read_events(ask(alice_client, conversation["id"], "quantum"))

    response = ask(alice_client, conversation["id"], "quantum")

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert "Retry-After" in response


def test_me_shows_todays_tokens_and_the_daily_limit(alice_client, conversation, chat_stub):
    read_events(ask(alice_client, conversation["id"], "How do cells make energy?"))

    body = alice_client.get("/api/me").json()

    assert body["usage"]["assistant_tokens_today"] == DailyUsage.objects.get().total_tokens > 0
    assert body["limits"]["assistant_tokens_per_day"] == 200_000


def test_conversations_go_with_the_user(alice_client, conversation, chat_stub):
    read_events(ask(alice_client, conversation["id"], "How do cells make energy?"))

    assert alice_client.delete("/api/me").status_code == 204

    assert Conversation.objects.count() == 0
    assert Message.objects.count() == 0


def test_assistant_usage_prints_tokens_per_account(alice, alice_client, conversation, chat_stub):
    read_events(ask(alice_client, conversation["id"], "How do cells make energy?"))
    out = StringIO()

    call_command("assistant_usage", "--days", "7", stdout=out)

    total = DailyUsage.objects.get().total_tokens
    assert alice.clerk_id in out.getvalue()
    assert f"1 accounts, {total} tokens in the last 7 day(s)" in out.getvalue()


def test_the_stand_in_provider_quotes_source_one_and_cites_it():
    from assistant.demo.fake_chat_provider import stand_in_answer

    prompt = '<source number="1" title="a" location="x">\nATP is energy.\n</source>'

    words = stand_in_answer([{"role": "user", "content": prompt}])

    assert " ".join(words).endswith("Source 1 says: ATP is energy. [1]")


def test_an_answer_left_streaming_past_the_timeout_reads_as_failed(
    alice_client, conversation, chat_stub, settings
):
    read_events(ask(alice_client, conversation["id"], "How do cells make energy?"))
    long_ago = timezone.now() - dt.timedelta(seconds=settings.ASSISTANT_TIMEOUT_SECONDS + 60)
    Message.objects.filter(role=Message.Role.ANSWER).update(
        status=Message.Status.STREAMING, updated_at=long_ago
    )

    body = alice_client.get(f"/api/conversations/{conversation['id']}").json()

    assert [m["status"] for m in body["messages"]] == ["completed", "failed"]
    assert Message.objects.get(role=Message.Role.ANSWER).status == Message.Status.FAILED


def test_an_answer_streaming_within_the_timeout_is_left_streaming(
    alice_client, conversation, chat_stub
):
    read_events(ask(alice_client, conversation["id"], "How do cells make energy?"))
    Message.objects.filter(role=Message.Role.ANSWER).update(status=Message.Status.STREAMING)

    body = alice_client.get(f"/api/conversations/{conversation['id']}").json()

    assert body["messages"][-1]["status"] == "streaming"
