"""A transcript that fails at the provider says which URL the worker called, never the key."""

from __future__ import annotations

import socket

import pytest

from tests.transcripts.helpers import lecture_with_audio, queued_transcript
from tests.transcripts.provider_stub import API_KEY, Fault
from transcripts.jobs import transcript_process
from transcripts.models import Transcript

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("transcription_settings")]


def transcribe(lecture) -> Transcript:
    queued_transcript(lecture)
    transcript_process(lecture_id=lecture.id)
    return Transcript.objects.get(lecture=lecture)


def test_a_refusal_names_the_url_called_and_not_the_key(speech, provider_stub, settings):
    settings.TRANSCRIPTION_CONCURRENCY = 1
    provider_stub.faults = [Fault(401, body=b'{"error": {"message": "Incorrect API key"}}')]

    transcript = transcribe(lecture_with_audio(speech))

    assert transcript.status == "failed"
    assert transcript.error_message.startswith("chunk 1 of 7: ")
    assert transcript.error_message.endswith(
        f"(POST {provider_stub.base_url}/audio/transcriptions)"
    )
    assert API_KEY not in transcript.error_message


def test_a_provider_that_cannot_be_reached_is_named_by_its_url(speech, settings):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        settings.TRANSCRIPTION_BASE_URL = f"http://127.0.0.1:{port}/v1"

        transcript = transcribe(lecture_with_audio(speech))

    assert transcript.status == "failed"
    assert "could not reach the transcription provider" in transcript.error_message
    assert transcript.error_message.endswith(
        f"(POST http://127.0.0.1:{port}/v1/audio/transcriptions)"
    )
