"""A direct recording (MP4) demuxed while it downloads, through guarded ``Range`` requests:
one pass with the index first, each byte fetched about once with the index last, and a
download's guarantees (resume, size limit, If-Range, retries) kept."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from lectures.audio import extract_audio
from lectures.fetch import SourceTooLarge, UnsupportedSource, source_policy
from lectures.fetch.direct import if_range_validator
from lectures.fetch.ranged import (
    FETCH_BUDGET_FACTOR,
    READ_THROUGH_BYTES,
    RangedRecording,
    stream_recording,
)
from lectures.models import Lecture
from tests.lectures.factories import fetching_threads, processed_lecture
from tests.lectures.media import audio_packet_payloads, write_media
from tests.lectures.media_server import always, fail_first, ranged
from tests.waiting import wait_until

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lecture_settings")]


def stored_audio(lecture: Lecture) -> Path:
    return Path(default_storage.path(lecture.audio_storage_key))


def from_whole_file(path: Path, tmp_path: Path) -> list[bytes]:
    """The audio packets extraction gives from the file on disk: what streaming must match."""
    extract_audio(path, tmp_path / "from-file.m4a")
    return audio_packet_payloads(tmp_path / "from-file.m4a")


@pytest.fixture(scope="module")
def big_moov_last(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 50 MB of noisy 720p with its index (moov) at the end, as a plain MP4 mux writes
    it: far more than the reader fetches ahead, so fetching it twice would show."""
    path = tmp_path_factory.mktemp("big") / "big-moov-last.mp4"
    write_media(path, size=(1280, 720), noisy=True, seconds=4)
    return path


def test_a_fast_start_mp4_is_read_in_one_request_with_no_video_on_disk(
    media, media_server, scratch_seen, tmp_path
):
    url, route = media_server.route(ranged(media.h264_aac))

    lecture = processed_lecture(url)

    assert lecture.status == "completed", lecture.error_message
    assert route.requests == 1
    assert route.range_headers == ["bytes=0-"]
    assert media_server.bytes_sent_on(url) == media.h264_aac.stat().st_size
    assert scratch_seen == [["audio.m4a"]]
    assert audio_packet_payloads(stored_audio(lecture)) == from_whole_file(media.h264_aac, tmp_path)


@pytest.mark.parametrize("name", ["lecture-mp3.mp4", "lecture-opus.mp4"])
def test_an_mp4_with_its_index_at_the_end_completes_with_the_same_audio(
    media, media_server, scratch_seen, tmp_path, name
):
    url, route = media_server.route(ranged(media.root / name))

    lecture = processed_lecture(url)

    assert lecture.status == "completed", lecture.error_message
    assert scratch_seen == [["audio.m4a"]]
    # At most the head, the index at the end, then the samples from where they start (a
    # file this small fits FFmpeg's read buffer whole: one request).
    assert route.requests <= 3
    assert audio_packet_payloads(stored_audio(lecture)) == from_whole_file(
        media.root / name, tmp_path
    )


def test_a_large_mp4_with_its_index_at_the_end_is_not_fetched_twice(
    media_server, big_moov_last, tmp_path
):
    size = big_moov_last.stat().st_size
    url, route = media_server.route(ranged(big_moov_last))

    lecture = processed_lecture(url)

    assert lecture.status == "completed", lecture.error_message
    # The head, the index at the end, then the samples from where they start.
    assert 2 <= route.requests <= 3
    # What the reader had fetched ahead when it jumped to the index, and what sat in the
    # sockets' buffers, is all that is fetched twice: far less than a second copy.
    assert size <= media_server.bytes_sent_on(url) < 1.4 * size
    assert audio_packet_payloads(stored_audio(lecture)) == from_whole_file(big_moov_last, tmp_path)


def test_a_connection_dropped_mid_file_resumes_where_it_stopped(media, media_server, tmp_path):
    size = media.h264_aac.stat().st_size
    url, route = media_server.route(ranged(media.h264_aac, drop_first_after=size // 2))

    lecture = processed_lecture(url)

    assert lecture.status == "completed", lecture.error_message
    assert route.range_headers == ["bytes=0-", f"bytes={size // 2}-"]
    assert route.if_range_headers == [None, '"v1"']
    assert audio_packet_payloads(stored_audio(lecture)) == from_whole_file(media.h264_aac, tmp_path)


def test_a_file_replaced_during_the_download_is_never_spliced(media, media_server, settings):
    size = media.h264_aac.stat().st_size
    url, route = media_server.route(
        ranged(media.h264_aac, drop_first_after=size // 2, etag_after_first='"v2"')
    )

    lecture = processed_lecture(url)

    assert lecture.status == "failed"
    assert lecture.error_message == "the recording on 127.0.0.1 changed during the download"
    assert route.requests == 2  # asked If-Range "v1", got the whole new file: not retried
    assert not default_storage.exists(f"audio/{lecture.id}.m4a")
    assert list(Path(settings.DOWNLOAD_TEMP_DIR).iterdir()) == []


def test_with_weak_tags_a_resume_sends_no_if_range_and_still_sees_a_replaced_file(
    media, media_server
):
    size = media.h264_aac.stat().st_size
    same, same_route = media_server.route(
        ranged(media.h264_aac, drop_first_after=size // 2, weak=True)
    )
    replaced, _ = media_server.route(
        ranged(media.h264_aac, drop_first_after=size // 2, weak=True, etag_after_first='"v2"')
    )

    resumed, failed = processed_lecture(same), processed_lecture(replaced)

    assert resumed.status == "completed", resumed.error_message
    assert same_route.range_headers == ["bytes=0-", f"bytes={size // 2}-"]
    assert same_route.if_range_headers == [None, None]
    assert failed.status == "failed"
    assert failed.error_message == "the recording on 127.0.0.1 changed during the download"


def test_a_server_failing_mid_file_fails_the_job_with_its_own_answer(big_moov_last, media_server):
    # The head, then the index at the end, then the samples: that third request and its
    # retries are answered 503.
    url, route = media_server.route(ranged(big_moov_last, unavailable_from=3))

    lecture = processed_lecture(url)

    # Not "ended the recording early": FFmpeg reads again after the failed read, and the
    # download's own error must still be the one it raises.
    assert lecture.status == "failed"
    assert lecture.error_message == "127.0.0.1 answered HTTP 503"
    assert route.requests == 3 + 2  # and the two retries the test settings allow


def test_a_stalled_answer_is_hung_up_when_the_reader_moves_and_is_not_asked_again(
    media, media_server, settings
):
    # A read time-out longer than the wait for the fetching thread: only hanging up on the
    # stalled answer ends that thread.
    settings.LECTURE_READ_TIMEOUT_SECONDS = 120
    path = media.h264_aac
    url, route = media_server.route(ranged(path, stall_first_after=64 * 1024))
    before = fetching_threads()

    with stream_recording(url, path.parent, source_policy(), lambda fraction: None) as recording:
        head = recording.read(1000)
        stalled = [t for t in threading.enumerate() if t.ident in fetching_threads() - before]
        assert len(stalled) == 1
        recording.seek(0)  # back: a new request, the stalled one is abandoned
        again = recording.read(1000)
        # The new request's thread may have fetched the whole (small) file and ended by now:
        # what counts is that the stalled one ends, long before its read time-out.
        wait_until(lambda: not stalled[0].is_alive(), message="the stalled answer was not hung up")

    assert head == again == path.read_bytes()[:1000]
    assert route.range_headers == ["bytes=0-", "bytes=0-"]
    assert fetching_threads() - before == set()


@pytest.mark.parametrize(
    ("etag", "last_modified", "sent"),
    [
        ('"v1"', "Sun, 29 Nov 2026 10:00:00 GMT", '"v1"'),
        ('W/"v1"', "Sun, 29 Nov 2026 10:00:00 GMT", None),  # a weak tag allows no date
        (None, "Sun, 29 Nov 2026 10:00:00 GMT", "Sun, 29 Nov 2026 10:00:00 GMT"),
        (None, None, None),
    ],
)
def test_if_range_names_a_strong_tag_or_a_date_only_without_any_tag(etag, last_modified, sent):
    assert if_range_validator(etag, last_modified) == sent


def test_a_resume_answered_with_the_wrong_range_fails_clearly(media, media_server):
    size = media.h264_aac.stat().st_size
    url, _ = media_server.route(
        ranged(media.h264_aac, drop_first_after=size // 2, wrong_range_after_first=True)
    )

    lecture = processed_lecture(url)

    assert lecture.status == "failed"
    assert lecture.error_message == "127.0.0.1 answered a range request with the wrong range"


def test_a_declared_size_over_the_limit_fails_before_the_body_is_read(
    media, media_server, settings
):
    settings.LECTURE_MAX_BYTES = media.h264_aac.stat().st_size - 1
    url, route = media_server.route(ranged(media.h264_aac))

    lecture = processed_lecture(url)

    assert lecture.status == "failed"
    assert lecture.error_message == str(SourceTooLarge(settings.LECTURE_MAX_BYTES))
    assert route.requests == 1


def test_a_server_without_validators_is_downloaded_whole_and_never_resumed(
    media, media_server, tmp_path
):
    # A later range could come from a replaced file with nothing to tell: read it whole,
    # and a dropped connection starts it again.
    size = media.h264_aac.stat().st_size
    url, route = media_server.route(
        ranged(media.h264_aac, drop_first_after=size // 2, no_validators=True)
    )

    lecture = processed_lecture(url)

    assert lecture.status == "completed", lecture.error_message
    assert route.range_headers == ["bytes=0-", None]
    assert audio_packet_payloads(stored_audio(lecture)) == from_whole_file(media.h264_aac, tmp_path)


def test_a_server_without_ranges_is_downloaded_whole_in_its_first_answer(
    media, media_server, tmp_path
):
    # ``always`` answers 200 with the whole file and ignores Range.
    url, route = media_server.route(always(200, media.h264_aac.read_bytes(), "video/mp4"))

    lecture = processed_lecture(url)

    assert lecture.status == "completed", lecture.error_message
    assert route.requests == 1
    assert audio_packet_payloads(stored_audio(lecture)) == from_whole_file(media.h264_aac, tmp_path)


def test_a_transient_error_on_the_first_request_is_retried(media, media_server):
    url, route = media_server.route(fail_first(media.h264_aac, 503))

    lecture = processed_lecture(url)

    assert lecture.status == "completed", lecture.error_message
    assert route.requests == 2


def test_a_playlist_behind_a_url_without_m3u8_is_read_as_hls(media, media_server):
    playlist = (media.root / "hls/ts/index.m3u8").read_text()
    base = media_server.file_url("hls/ts/")
    absolute = "".join(
        line if line.startswith("#") or not line.strip() else base + line
        for line in playlist.splitlines(keepends=True)
    )
    url, _ = media_server.route(
        always(200, absolute.encode(), "application/vnd.apple.mpegurl"), suffix=".mp4"
    )

    lecture = processed_lecture(url)

    assert lecture.status == "completed", lecture.error_message
    assert lecture.duration_seconds == pytest.approx(4, abs=0.5)


def test_a_reader_that_jumps_back_and_forth_without_end_is_stopped(media, media_server):
    path = media.h264_aac
    size = path.stat().st_size
    url, route = media_server.route(ranged(path))
    budget = FETCH_BUDGET_FACTOR * size + READ_THROUGH_BYTES
    jumps = 2 * budget // size

    with (
        stream_recording(url, path.parent, source_policy(), lambda fraction: None) as recording,
        pytest.raises(UnsupportedSource) as failure,
    ):
        assert isinstance(recording, RangedRecording)
        # Each jump back to the start fetches the whole (small) file again.
        for _ in range(jumps):
            for offset in (size - 10, 0):
                recording.seek(offset)
                recording.read(10)

    assert str(failure.value) == (
        "recording is laid out in a way that cannot be read while it downloads"
    )
    assert route.requests < 2 * jumps


def test_progress_rises_to_the_whole_file_and_the_fetching_thread_stops(
    media, media_server, tmp_path
):
    url, _ = media_server.route(ranged(media.h264_aac))
    reported: list[float] = []
    before = fetching_threads()

    with stream_recording(url, tmp_path, source_policy(), reported.append) as recording:
        while recording.read(4096):
            pass

    assert reported == sorted(reported)
    assert reported[-1] == 1.0
    assert recording.bytes_read == media.h264_aac.stat().st_size
    assert fetching_threads() - before == set()
