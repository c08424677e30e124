"""The assistant in the admin: a student's conversations only to staff with the permission
of their own, and then read-only; the provider key's system check."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from assistant.checks import assistant_key_check
from assistant.models import Conversation
from tests.factories import UserFactory


@pytest.fixture
def alices_conversation(alice) -> Conversation:
    return Conversation.objects.create(owner=alice, title="Cells")


def _staff_client(*permissions: str) -> Client:
    member = UserFactory(clerk_id=None, username="support", is_staff=True)
    member.user_permissions.add(*Permission.objects.filter(codename__in=permissions))
    client = Client()
    client.force_login(member)
    return client


def test_staff_without_the_permission_cannot_see_conversations(alices_conversation):
    client = _staff_client("view_dailyusage")

    assert client.get("/admin/assistant/conversation/").status_code == 403
    change = f"/admin/assistant/conversation/{alices_conversation.id}/change/"
    assert client.get(change).status_code == 403
    assert b"/admin/assistant/conversation/" not in client.get("/admin/").content


def test_staff_with_the_permission_read_conversations_and_change_nothing(alices_conversation):
    client = _staff_client("view_conversation_content")
    change = f"/admin/assistant/conversation/{alices_conversation.id}/change/"

    assert client.get("/admin/assistant/conversation/").status_code == 200
    assert client.get(change).status_code == 200
    assert client.post(change, {"title": "Renamed"}).status_code == 403
    assert client.get(change.replace("change", "delete")).status_code == 403
    assert client.get("/admin/assistant/conversation/add/").status_code == 403
    alices_conversation.refresh_from_db()
    assert alices_conversation.title == "Cells"


def test_a_remote_provider_without_a_key_fails_the_system_check(settings):
    settings.ASSISTANT_BACKEND = "openai"
    settings.ASSISTANT_BASE_URL = "https://api.openai.com/v1"
    settings.ASSISTANT_API_KEY = ""

    assert [error.id for error in assistant_key_check(None)] == ["assistant.E001"]


@pytest.mark.parametrize(
    ("base_url", "key"),
    [("https://api.openai.com/v1", "sk-test"), ("http://127.0.0.1:8080/v1", "")],
)
def test_a_key_or_a_provider_on_loopback_passes_the_system_check(settings, base_url, key):
    settings.ASSISTANT_BACKEND = "openai"
    settings.ASSISTANT_BASE_URL = base_url
    settings.ASSISTANT_API_KEY = key

    assert assistant_key_check(None) == []
