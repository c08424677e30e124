"""The fake transcription provider (``manage.py fake_transcription_provider``, and what
`make demo` serves) speaks OpenAI's transcription protocol, to the service's own client."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lectures.demo.fake_transcription_provider import MAX_UPLOAD_BYTES, FakeTranscriptionProvider
from tests.live_server import ROOT
from tests.transcripts.speech import write_speech
from transcripts.provider import (
    ProviderError,
    ProviderSettings,
    TranscriptionClient,
    parse_answer,
)


@pytest.fixture
def provider() -> Iterator[FakeTranscriptionProvider]:
    provider = FakeTranscriptionProvider(port=0).start()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def audio(tmp_path_factory) -> Path:
    """23 s of audio, as the transcript job sends a chunk of a lecture."""
    return write_speech(tmp_path_factory.mktemp("fake-provider") / "chunk-0.m4a", 23)


def client_for(provider: FakeTranscriptionProvider, **overrides) -> TranscriptionClient:
    return TranscriptionClient(
        ProviderSettings(
            **{"base_url": provider.base_url, "api_key": "", "model": "whisper-1", **overrides}
        )
    )


def post(provider: FakeTranscriptionProvider, audio: Path | None, **fields: str) -> httpx.Response:
    """A multipart request, with ``audio`` as its ``file`` (else a part of another name)."""
    name = "file" if audio else "audio"
    files = {name: ("chunk-0.m4a", audio.read_bytes() if audio else b"", "audio/mp4")}
    return httpx.post(
        f"{provider.base_url}/audio/transcriptions",
        data={"model": "whisper-1", **fields},
        files=files,
    )


def test_the_service_client_gets_segments_timed_over_the_audio_it_sent(provider, audio):
    with client_for(provider) as client:
        answer = client.transcribe(audio, filename="chunk-0.m4a", content_type="audio/mp4")

    parsed = parse_answer(answer, 23.0)
    assert parsed.timed
    assert [(s.start, s.end) for s in parsed.segments] == [(0.0, 10.0), (10.0, 23.0)]
    assert answer["duration"] == pytest.approx(23.0, abs=0.1)
    assert parsed.segments[0].text == (
        "Stand-in text from the fake transcription provider; no speech recognition ran. "
        "Part 1 of 2 of the 23.0 seconds of audio it received."
    )
    assert provider.answered == 1


def test_the_answer_is_the_same_for_the_same_audio(provider, audio):
    first = post(provider, audio, response_format="verbose_json")
    second = post(provider, audio, response_format="verbose_json")

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()


def test_verbose_json_has_openais_fields_and_the_language_asked_for(provider, audio):
    response = post(
        provider,
        audio,
        response_format="verbose_json",
        language="fr",
        temperature="0",
        **{"timestamp_granularities[]": "segment"},
    )

    body = response.json()
    assert response.headers["content-type"] == "application/json"
    assert set(body) == {"task", "language", "duration", "text", "segments"}
    assert (body["task"], body["language"]) == ("transcribe", "fr")
    assert set(body["segments"][0]) >= {"id", "start", "end", "text", "avg_logprob"}
    assert body["text"] == " ".join(s["text"].strip() for s in body["segments"])


@pytest.mark.parametrize(
    ("response_format", "content_type"),
    [("json", "application/json"), ("text", "text/plain; charset=utf-8")],
)
def test_json_and_text_answers_carry_the_text_only(provider, audio, response_format, content_type):
    response = post(provider, audio, response_format=response_format)

    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    text = response.json()["text"] if response_format == "json" else response.text
    assert text.startswith("Stand-in text from the fake transcription provider;")
    assert "Part 2 of 2" in text


def test_the_service_client_reads_a_json_answer_as_one_untimed_segment(provider, audio):
    with client_for(provider, model="gpt-4o-transcribe") as client:  # json, no segments
        answer = client.transcribe(audio, filename="chunk-0.m4a", content_type="audio/mp4")

    parsed = parse_answer(answer, 23.0)
    assert (parsed.timed, len(parsed.segments)) == (False, 1)
    assert (parsed.segments[0].start, parsed.segments[0].end) == (0.0, 23.0)


def test_another_path_is_a_404_that_names_the_url_served(provider, audio):
    host_and_port = provider.base_url.removesuffix("/v1")
    with (
        client_for(provider, base_url=host_and_port) as client,  # a base URL without /v1
        pytest.raises(ProviderError) as refused,
    ):
        client.transcribe(audio, filename="chunk-0.m4a", content_type="audio/mp4")

    assert str(refused.value) == (
        "the transcription provider refused the request (HTTP 404: Not found: this stand-in "
        f"serves POST {provider.base_url}/audio/transcriptions only.)"
    )


@pytest.mark.parametrize(
    ("fields", "with_file", "message"),
    [
        (
            {"response_format": "srt"},
            True,
            "response_format must be one of json, verbose_json, text.",
        ),
        ({"model": ""}, True, "The model field is missing."),
        ({}, False, "The file part is missing."),
    ],
    ids=["unknown format", "no model", "no file"],
)
def test_a_malformed_request_is_a_400_in_openais_error_shape(
    provider, audio, fields, with_file, message
):
    response = post(provider, audio if with_file else None, **fields)

    assert response.status_code == 400
    assert response.json() == {"error": {"message": message, "type": "invalid_request_error"}}
    assert provider.answered == 0


def test_a_body_that_is_not_multipart_is_a_400(provider):
    response = httpx.post(f"{provider.base_url}/audio/transcriptions", data={"model": "whisper-1"})

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "The request must be multipart/form-data."


def test_a_file_that_is_not_audio_is_a_400(provider, tmp_path):
    not_audio = tmp_path / "notes.txt"
    not_audio.write_text("not audio at all")

    response = post(provider, not_audio)

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Invalid file format: the file is not audio."


def test_an_upload_over_25_mb_is_refused_before_it_is_read(provider):
    response = httpx.post(
        f"{provider.base_url}/audio/transcriptions",
        content=b"\0" * (MAX_UPLOAD_BYTES + 1),
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )

    assert response.status_code == 413


# --- The command --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def command(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "fake_transcription_provider", *args],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/tmp"),
            "DJANGO_SETTINGS_MODULE": "studybuddy.settings.test",
            "PYTHONUNBUFFERED": "1",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_command_serves_the_stand_in_and_says_how_to_point_the_service_at_it(audio):
    port = free_port()
    process = command("--port", str(port))
    try:
        banner = [process.stdout.readline() for _ in range(3)]
        base_url = f"http://127.0.0.1:{port}/v1"
        response = httpx.post(
            f"{base_url}/audio/transcriptions",
            data={"model": "whisper-1", "response_format": "verbose_json"},
            files={"file": ("chunk-0.m4a", audio.read_bytes(), "audio/mp4")},
        )
        logged = process.stdout.readline()
    finally:
        process.terminate()
        process.wait(timeout=15)

    assert banner[0] == (
        f"Fake transcription provider (a stand-in: no speech recognition) on {base_url}\n"
    )
    assert banner[2] == (
        f"  TRANSCRIPTION_BACKEND=openai TRANSCRIPTION_BASE_URL={base_url} make run\n"
    )
    assert response.status_code == 200
    assert logged.startswith("POST /v1/audio/transcriptions: 200, chunk-0.m4a (")
    assert logged.endswith("-> 2 segment(s) as verbose_json\n")


def test_the_command_names_a_port_it_cannot_listen_on():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = command("--port", str(port))
        _, stderr = process.communicate(timeout=60)

    assert process.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in stderr
    assert "choose another --port" in stderr
