"""The answer's stream through the Procfile's web process (``deploy/web.py``: nginx in front
of gunicorn where nginx is installed, gunicorn alone otherwise): its events reach the client
as the provider sends them, never held until the answer ends."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import httpx
import pytest

from tests.assistant.chat_stub import API_KEY, ChatStub
from tests.auth import ISSUER, session_claims, sign
from tests.web_process import NGINX_INSTALLED, web_process

TOKENS = ["Mitochondria ", "make ", "energy ", "[1]", "."]


def test_nginx_passes_the_stream_unbuffered_and_waits_as_long_as_an_answer(settings, tmp_path):
    import deploy.web as web

    settings.ASSISTANT_TIMEOUT_SECONDS = 600
    conf = web.render_nginx_conf(tmp_path, bind="127.0.0.1:8000", settings=settings).read_text()
    lines = [line.split("#", 1)[0].strip() for line in conf.splitlines()]
    assert "proxy_read_timeout 610s;" in lines
    assert "gzip off;" in lines
    # nginx honours the app's X-Accel-Buffering unless proxy_ignore_headers names it.
    assert not any(line.startswith("proxy_ignore_headers") for line in lines)


@pytest.fixture
def held_stub() -> Iterator[tuple[ChatStub, threading.Event]]:
    """A chat stub that holds its last token until the test releases it."""
    release = threading.Event()
    stub = ChatStub().start()
    stub.usage = False

    def answer(_request: dict) -> Iterator[str]:
        yield from TOKENS[:-1]
        release.wait(timeout=30)
        yield TOKENS[-1]

    stub.answer = answer  # type: ignore[assignment]
    yield stub, release
    release.set()
    stub.stop()


@pytest.fixture
def web(transactional_db, clerk_key, tmp_path, held_stub) -> Iterator[str]:
    """``python deploy/web.py`` as the Procfile starts it (nginx in front where it is
    installed), with the assistant on the stub."""
    stub, _release = held_stub
    with web_process(
        tmp_path / "web.log",
        CLERK_JWT_KEY=clerk_key.public_pem,
        CLERK_ISSUER=ISSUER,
        MEDIA_ROOT=str(tmp_path / "media"),
        WEB_CONCURRENCY="1",
        ASSISTANT_BACKEND="openai",
        ASSISTANT_BASE_URL=stub.base_url,
        ASSISTANT_API_KEY=API_KEY,
        EMBEDDINGS_BACKEND="none",
        **({} if NGINX_INSTALLED else {"WEB_BEHIND_BUFFERING_PROXY": "true"}),
    ) as url:
        yield url


@pytest.mark.e2e
def test_sources_and_the_first_token_arrive_before_the_provider_ends(
    web, held_stub, clerk_key, conversation
):
    _stub, release = held_stub
    token = sign(session_claims(), clerk_key)
    seen: list[str] = []
    with (
        httpx.Client(base_url=web, timeout=30) as client,
        client.stream(
            "POST",
            f"/api/conversations/{conversation['id']}/messages",
            json={"content": "What do mitochondria make?"},
            headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"},
        ) as response,
    ):
        assert response.status_code == 200
        lines = response.iter_lines()
        for line in lines:
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            seen.append(json.loads(line[len("data: ") :])["type"])
            if "text-delta" in seen:
                break
        # The stub still holds its last token: nothing waited for the answer's end.
        assert not release.is_set()
        assert seen.index("data-source") < seen.index("text-delta")
        release.set()
        rest = [line for line in lines if line.startswith("data: ")]
    assert rest[-1] == "data: [DONE]"
    assert json.loads(rest[-2][len("data: ") :])["type"] == "finish"
