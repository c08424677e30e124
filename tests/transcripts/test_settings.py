"""Transcription settings: defaults, and configuration errors that stop start-up (a
malformed value as the settings are read, a missing key in the system checks)."""

from __future__ import annotations

import json

import pytest

from tests.test_settings import PRODUCTION, manage, run_python, system_check_errors

pytestmark = pytest.mark.django_db


def test_the_defaults_are_the_readmes():
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.TRANSCRIPTION_BACKEND, s.TRANSCRIPTION_BASE_URL, "
        "s.TRANSCRIPTION_API_KEY, s.TRANSCRIPTION_MODEL, s.TRANSCRIPTION_LANGUAGE, "
        "s.TRANSCRIPTION_CHUNK_SECONDS, s.TRANSCRIPTION_MAX_UPLOAD_BYTES, "
        "s.TRANSCRIPTION_CONCURRENCY, s.TRANSCRIPTION_TIMEOUT_SECONDS]))"
    )

    result = run_python(code, **PRODUCTION)

    assert json.loads(result.stdout) == [
        "none",
        "https://api.openai.com/v1",
        "",
        "whisper-1",
        "",
        600,
        24000000,
        2,
        300,
    ], result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"TRANSCRIPTION_BACKEND": "whisper"},
            "TRANSCRIPTION_BACKEND must be one of none, openai",
        ),
        (
            {"TRANSCRIPTION_BASE_URL": "ftp://api.example.com/v1"},
            "TRANSCRIPTION_BASE_URL must be an http(s) URL",
        ),
        (
            {"TRANSCRIPTION_BASE_URL": "https://user:sk-secret@api.example.com/v1"},
            "TRANSCRIPTION_BASE_URL must not carry credentials",
        ),
        ({"TRANSCRIPTION_LANGUAGE": "english"}, "TRANSCRIPTION_LANGUAGE must be an ISO-639-1"),
        ({"TRANSCRIPTION_CHUNK_SECONDS": "5"}, "TRANSCRIPTION_CHUNK_SECONDS must be at least 10"),
    ],
    ids=["backend", "scheme", "credentials", "language", "chunk"],
)
def test_a_transcription_configuration_error_stops_start_up(env, message):
    result = manage("check", **{**PRODUCTION, **env})

    assert result.returncode == 2
    assert result.stderr.startswith(f"configuration error: {message}")
    assert "sk-secret" not in result.stderr


def test_the_openai_backend_without_a_key_fails_the_system_checks(settings):
    settings.TRANSCRIPTION_BACKEND = "openai"
    settings.TRANSCRIPTION_BASE_URL = "https://api.openai.com/v1"
    settings.TRANSCRIPTION_API_KEY = ""

    assert system_check_errors() == [
        "(transcripts.E001) TRANSCRIPTION_BACKEND=openai needs TRANSCRIPTION_API_KEY (only a "
        "server on loopback may go without one)"
    ]


def test_a_server_on_loopback_needs_no_key():
    env = {"TRANSCRIPTION_BACKEND": "openai", "TRANSCRIPTION_BASE_URL": "http://127.0.0.1:8000/v1"}

    assert manage("check", **{**PRODUCTION, **env}).returncode == 0
