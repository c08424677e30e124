"""The transcript job, in-process, against the provider stub on 127.0.0.1 and real storage."""

from __future__ import annotations

import logging
import threading
import uuid
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from lectures.models import Lecture
from tests.documents.helpers import s3_storage_config
from tests.transcripts.helpers import lecture_with_audio, queued_transcript
from tests.transcripts.provider_stub import API_KEY, Fault
from tests.transcripts.speech import seconds_in, sentences, write_speech
from tests.waiting import poll_until
from transcripts import chunking, jobs
from transcripts.jobs import transcript_process
from transcripts.models import Transcript, TranscriptChunk, TranscriptSegment
from transcripts.services import transcript_request

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("transcription_settings")]

SECONDS = 130
CHUNKS = 7  # 20-second chunks with 5 s of overlap over 130 s
# The tests that are not about where the cuts fall send a shorter lecture: every chunk is
# encoded by the job, 2 for 44 s ([0, 25] and [20, 44]) against 7 for 130 s. (Under 45 s:
# a second chunk reaching exactly the end is the last, but an encoder's padding would not be.)
SHORT_SECONDS = 44
SHORT_CHUNKS = 2


@pytest.fixture(scope="module")
def short_speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """44 s of the lecture audio the ``speech`` fixture holds 130 s of."""
    return write_speech(tmp_path_factory.mktemp("speech") / "short.m4a", SHORT_SECONDS)


def run(lecture: Lecture) -> Transcript:
    if not Transcript.objects.filter(lecture=lecture).exists():
        queued_transcript(lecture)
    outcome = transcript_process(lecture_id=lecture.id)
    transcript = Transcript.objects.get(lecture=lecture)
    transcript.outcome = outcome
    return transcript


def segments_of(lecture: Lecture) -> list[TranscriptSegment]:
    return list(TranscriptSegment.objects.filter(lecture=lecture).order_by("index"))


def assert_every_second_once(lecture: Lecture, seconds: int = SECONDS) -> None:
    segments = segments_of(lecture)
    assert seconds_in([s.text for s in segments]) == list(range(seconds))
    assert [s.index for s in segments] == list(range(len(segments)))
    for segment in segments:
        heard = seconds_in([segment.text])
        # Each sentence sits where its seconds are on the lecture's timeline.
        assert segment.start == pytest.approx(heard[0], abs=0.01)
        assert segment.end == pytest.approx(heard[-1] + 1, abs=0.01)


def assert_audio_untouched(lecture: Lecture) -> None:
    fresh = Lecture.objects.get(pk=lecture.pk)
    assert fresh.status == "completed"
    assert default_storage.exists(fresh.audio_storage_key)


# --- Chunking, the request, the merge -----------------------------------------------------


def test_every_second_of_the_lecture_is_transcribed_exactly_once_across_the_cuts(
    speech, provider_stub, settings
):
    lecture = lecture_with_audio(speech)

    transcript = run(lecture)

    assert (transcript.outcome, transcript.status, transcript.progress) == (
        "completed",
        "completed",
        100,
    )
    assert_every_second_once(lecture)
    assert provider_stub.requests == CHUNKS
    starts = sorted(r.heard[0][1] for r in provider_stub.received)
    assert starts == [0, 20, 40, 60, 80, 100, 120]
    assert all(len(r.heard) <= 25 for r in provider_stub.received)
    assert (transcript.source, transcript.model, transcript.language) == (
        "provider",
        "whisper-large-v3-turbo",
        "english",
    )
    assert transcript.segment_count == len(segments_of(lecture))
    assert transcript.claim_token is None
    assert not TranscriptChunk.objects.filter(lecture=lecture).exists()
    assert list(Path(settings.DOWNLOAD_TEMP_DIR).iterdir()) == []
    assert_audio_untouched(lecture)


def test_each_request_is_the_multipart_the_api_describes(short_speech, provider_stub):
    run(lecture_with_audio(short_speech))

    request = provider_stub.received[0]
    assert request.authorization == f"Bearer {API_KEY}"
    assert request.fields == {
        "model": ["whisper-large-v3-turbo"],
        "temperature": ["0"],
        "response_format": ["verbose_json"],
        "timestamp_granularities[]": ["segment"],
    }
    assert request.filename.endswith(".ogg")
    assert request.content_type == "audio/ogg"


def test_the_language_is_sent_when_set(short_speech, provider_stub, settings):
    settings.TRANSCRIPTION_LANGUAGE = "en"

    transcript = run(lecture_with_audio(short_speech))

    assert {tuple(r.fields["language"]) for r in provider_stub.received} == {("en",)}
    assert transcript.language == "en"


def test_a_provider_answering_text_only_gives_one_segment_per_chunk(speech, provider_stub):
    provider_stub.answer = lambda received: {"text": f"chunk from {received.heard[0][1]}"}
    lecture = lecture_with_audio(speech)

    transcript = run(lecture)

    assert transcript.status == "completed"
    segments = segments_of(lecture)
    assert [s.text for s in segments] == [f"chunk from {n}" for n in range(0, 130, 20)]
    assert [(s.start, s.end) for s in segments][:2] == [(0, 20), (20, 40)]


def test_gpt_4o_models_are_asked_for_json(short_speech, provider_stub, settings):
    settings.TRANSCRIPTION_MODEL = "gpt-4o-mini-transcribe"

    transcript = run(lecture_with_audio(short_speech))

    assert transcript.status == "completed"
    assert provider_stub.received[0].fields["response_format"] == ["json"]
    assert "timestamp_granularities[]" not in provider_stub.received[0].fields


def test_answers_with_missing_fields_are_accepted(short_speech, provider_stub):
    # whisper.cpp's server may leave out a segment's start or end, and the language.
    provider_stub.answer = lambda received: {
        "text": "x",
        "segments": [{"text": " hello", "end": 2.0}, {"text": "world", "start": 3.0}],
    }
    lecture = lecture_with_audio(short_speech)

    transcript = run(lecture)

    assert transcript.status == "completed"
    first = segments_of(lecture)[:2]
    assert [(s.start, s.end, s.text) for s in first] == [(0, 2, "hello"), (3, 3, "world")]


def test_no_more_than_the_concurrency_is_in_flight(speech, provider_stub, settings):
    settings.TRANSCRIPTION_CONCURRENCY = 2
    # Each answer waits for another request to arrive while chunks are left to send: the
    # job has every chance to send more than two at once, however slowly it encodes them.
    provider_stub.hold = lambda: poll_until(
        lambda: provider_stub.in_flight >= 2 or provider_stub.requests >= CHUNKS, timeout=30
    )

    run(lecture_with_audio(speech))

    assert provider_stub.most_in_flight == 2


def test_chunks_are_encoded_at_a_lower_rate_to_stay_under_the_upload_limit(
    speech, provider_stub, settings
):
    settings.TRANSCRIPTION_MAX_UPLOAD_BYTES = provider_stub.max_upload_bytes = 70_000
    lecture = lecture_with_audio(speech)

    transcript = run(lecture)

    assert transcript.status == "completed", transcript.error_message
    assert all(r.size <= 70_000 for r in provider_stub.received)
    assert_every_second_once(lecture)


def test_chunks_are_cut_shorter_when_no_rate_fits_the_upload_limit(speech, provider_stub, settings):
    settings.TRANSCRIPTION_CHUNK_SECONDS = 120
    settings.TRANSCRIPTION_MAX_UPLOAD_BYTES = provider_stub.max_upload_bytes = 65_536
    lecture = lecture_with_audio(speech)

    transcript = run(lecture)

    assert transcript.status == "completed", transcript.error_message
    assert provider_stub.requests > 2
    assert all(r.size <= 65_536 for r in provider_stub.received)
    assert_every_second_once(lecture)


def test_silent_audio_completes_with_no_segments(tmp_path, provider_stub):
    lecture = lecture_with_audio(write_speech(tmp_path / "silence.m4a", 30, silent=True))

    transcript = run(lecture)

    assert (transcript.status, transcript.segment_count) == ("completed", 0)
    assert segments_of(lecture) == []


# --- Faults ---------------------------------------------------------------------------------


def test_a_429_is_retried_after_its_retry_after(short_speech, provider_stub, caplog):
    provider_stub.faults = [Fault(429, headers={"Retry-After": "1"})]
    lecture = lecture_with_audio(short_speech)

    transcript = run(lecture)

    assert transcript.status == "completed"
    # The wait is the provider's Retry-After, not the settings' 0.01 s backoff.
    assert "HTTP 429; retry 1 in 1.0 s" in caplog.text
    assert provider_stub.requests == SHORT_CHUNKS + 1
    assert_every_second_once(lecture, SHORT_SECONDS)


@pytest.mark.parametrize(
    "fault",
    [Fault(500), Fault(503), Fault(drop=True), Fault(stall=60)],
    ids=["500", "503", "dropped connection", "timeout"],
)
def test_a_transient_failure_is_retried_and_the_transcript_completes(
    short_speech, provider_stub, settings, fault
):
    if fault.stall:
        # Long enough for every answer but the stalled one (the stub decodes each chunk).
        settings.TRANSCRIPTION_TIMEOUT_SECONDS = 3
    provider_stub.faults = [fault]
    lecture = lecture_with_audio(short_speech)

    transcript = run(lecture)

    assert transcript.status == "completed", transcript.error_message
    assert provider_stub.requests == SHORT_CHUNKS + 1
    assert_every_second_once(lecture, SHORT_SECONDS)


def test_a_provider_failing_every_time_fails_the_transcript_after_the_retries(
    short_speech, provider_stub
):
    provider_stub.faults = [Fault(503)] * 100
    lecture = lecture_with_audio(short_speech)

    transcript = run(lecture)

    assert (transcript.outcome, transcript.status) == ("failed", "failed")
    assert "HTTP 503 (4 attempts)" in transcript.error_message
    assert_audio_untouched(lecture)


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (
            Fault(
                401, body=b'{"error": {"message": "Incorrect API key provided: sk-test-0123***"}}'
            ),
            "refused the API key (HTTP 401)",
        ),
        (
            Fault(400, body=b'{"error": {"message": "Invalid file format."}}'),
            "refused the request (HTTP 400: Invalid file format.)",
        ),
        (Fault(200, body=b"<html>not json</html>"), "not JSON"),
        (Fault(200, body=b'{"segments": "nope", "text": ""}'), "malformed segments"),
        (Fault(huge=50 * 1024 * 1024), "larger than 4 MiB"),
    ],
    ids=["401", "400", "not json", "malformed segments", "50 MB answer"],
)
def test_a_permanent_failure_fails_at_once_with_a_short_message(
    short_speech, provider_stub, settings, fault, message, caplog
):
    settings.TRANSCRIPTION_CONCURRENCY = 1
    provider_stub.faults = [fault]
    lecture = lecture_with_audio(short_speech)
    caplog.set_level(logging.DEBUG)

    transcript = run(lecture)

    assert (transcript.outcome, transcript.status) == ("failed", "failed")
    assert message in transcript.error_message
    assert transcript.error_message.startswith(f"chunk 1 of {SHORT_CHUNKS}: ")
    assert provider_stub.requests == 1
    assert API_KEY not in transcript.error_message
    assert "0123" not in transcript.error_message
    assert API_KEY not in caplog.text
    assert_audio_untouched(lecture)


def test_a_bad_key_is_refused_and_never_logged(short_speech, provider_stub, settings, caplog):
    settings.TRANSCRIPTION_API_KEY = "sk-wrong-key-that-must-stay-secret"
    caplog.set_level(logging.DEBUG)

    transcript = run(lecture_with_audio(short_speech))

    assert transcript.status == "failed"
    assert "HTTP 401" in transcript.error_message
    assert "sk-wrong" not in transcript.error_message
    assert "sk-wrong" not in caplog.text


# --- Resuming, idempotence, deletion ----------------------------------------------------


def test_a_retry_sends_only_the_chunks_not_answered_before(speech, provider_stub):
    lecture = lecture_with_audio(speech)

    def fail_from_second_60(received):
        if received.heard[0][1] >= 60:
            return {"segments": "broken"}
        return {"text": "", "segments": sentences(received.heard)}

    provider_stub.answer = fail_from_second_60
    first = run(lecture)
    kept = TranscriptChunk.objects.filter(lecture=lecture).count()
    assert first.status == "failed"
    assert kept >= 3

    transcript_request(lecture=lecture, user=None)
    provider_stub.answer = None
    provider_stub.received.clear()
    second = run(lecture)

    assert second.status == "completed"
    assert len(provider_stub.received) == CHUNKS - kept
    assert_every_second_once(lecture)


def test_a_second_delivery_of_the_job_does_nothing(short_speech, provider_stub):
    lecture = lecture_with_audio(short_speech)
    first = run(lecture)
    requests = provider_stub.requests

    second = transcript_process(lecture_id=lecture.id)

    assert (first.outcome, second) == ("completed", "skipped")
    assert provider_stub.requests == requests


def test_the_job_fails_when_transcription_was_turned_off(short_speech, provider_stub, settings):
    settings.TRANSCRIPTION_BACKEND = "none"

    transcript = run(lecture_with_audio(short_speech))

    assert transcript.status == "failed"
    assert "turned off" in transcript.error_message
    assert provider_stub.requests == 0


def test_deleting_a_lecture_deletes_its_transcript(short_speech, provider_stub):
    lecture = lecture_with_audio(short_speech)
    run(lecture)
    TranscriptChunk.objects.create(
        lecture=lecture, index=0, plan="p", offset_seconds=0, duration_seconds=1, answer={}
    )

    lecture.delete()

    assert not Transcript.objects.exists()
    assert not TranscriptSegment.objects.exists()
    assert not TranscriptChunk.objects.exists()


def test_audio_stored_on_s3_is_read_through_the_storage_api(
    short_speech, provider_stub, settings, request
):
    s3_server = request.getfixturevalue("s3_server")
    endpoint = s3_server.endpoint_url
    bucket = "studybuddy-transcripts-test"
    s3_server.client().create_bucket(Bucket=bucket)
    settings.STORAGE_BACKEND = "s3"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": s3_storage_config(endpoint, bucket=bucket, location=uuid.uuid4().hex),
    }
    lecture = lecture_with_audio(short_speech)

    transcript = run(lecture)

    assert transcript.status == "completed", transcript.error_message
    assert_every_second_once(lecture, SHORT_SECONDS)
    assert_audio_untouched(lecture)


def test_a_provider_refusing_the_upload_size_fails_at_once(short_speech, provider_stub, settings):
    # The operator set TRANSCRIPTION_MAX_UPLOAD_BYTES above what the server takes.
    provider_stub.max_upload_bytes = 10_000
    settings.TRANSCRIPTION_CONCURRENCY = 1

    transcript = run(lecture_with_audio(short_speech))

    assert transcript.status == "failed"
    assert "refused the request (HTTP 413: Maximum content size limit exceeded)" in (
        transcript.error_message
    )
    assert provider_stub.requests == 1


def test_without_libopus_chunks_are_low_rate_aac(short_speech, provider_stub, monkeypatch):
    monkeypatch.setattr(jobs, "speech_format", lambda: chunking.AAC)
    lecture = lecture_with_audio(short_speech)

    transcript = run(lecture)

    assert transcript.status == "completed", transcript.error_message
    assert {(r.content_type, r.filename[-4:]) for r in provider_stub.received} == {
        ("audio/mp4", ".m4a")
    }
    assert_every_second_once(lecture, SHORT_SECONDS)


def test_a_failed_chunk_fails_the_transcript_without_waiting_for_requests_in_flight(
    short_speech, provider_stub
):
    release = threading.Event()  # the first chunk is answered only once the test says so
    answered = threading.Event()

    def held_first_chunk_broken_second(received):
        if received.heard[0][1] == 0:
            release.wait(timeout=60)
            answered.set()
            return {"text": "late"}
        return {"segments": "broken"}

    provider_stub.answer = held_first_chunk_broken_second
    try:
        transcript = run(lecture_with_audio(short_speech))
        ended_before_the_first_answer = not answered.is_set()
    finally:
        release.set()

    assert transcript.status == "failed"
    assert "malformed segments" in transcript.error_message
    assert ended_before_the_first_answer
