"""HLS demuxed while it downloads: the job writes the audio as the segments arrive, with no
video on disk, and the download's failures come out as they do from a download to a file."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from lectures.audio import extract_audio
from lectures.fetch import SourceTooLarge, hls
from lectures.fetch.stream import stream_hls
from tests.lectures.factories import fetching_threads, processed_lecture
from tests.lectures.media import audio_packet_payloads
from tests.lectures.media_server import always, drop_first, fail_first, stall_after
from tests.waiting import wait_until

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lecture_settings")]


def playlist_with(media, media_server, replace: dict[int, str]) -> str:
    """A media playlist of the test HLS stream, segment ``i`` served from ``replace[i]``."""
    names = media.hls.segment_names
    urls = [replace.get(i, media_server.file_url("hls/ts/" + n)) for i, n in enumerate(names)]
    lines = [f"#EXTINF:1.0,\n{url}" for url in urls]
    text = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n" + "\n".join(lines) + "\n#EXT-X-ENDLIST\n"
    url, _ = media_server.route(
        always(200, text.encode(), "application/vnd.apple.mpegurl"), "/index.m3u8"
    )
    return url


@pytest.mark.parametrize(
    "playlist", ["hls/ts/index.m3u8", "hls/aes/index.m3u8", "hls/fmp4/index.m3u8"]
)
def test_hls_audio_is_written_while_the_segments_arrive_with_no_video_on_disk(
    media, media_server, scratch_seen, playlist
):
    lecture = processed_lecture(media_server.file_url(playlist))

    assert lecture.status == "completed", lecture.error_message
    assert scratch_seen == [["audio.m4a"]]
    assert lecture.duration_seconds == pytest.approx(4, abs=0.5)


def test_the_streamed_audio_is_what_extraction_from_a_whole_file_gives(
    media, media_server, tmp_path
):
    lecture = processed_lecture(media_server.file_url("hls/ts/index.m3u8"))

    audio = Path(default_storage.path(lecture.audio_storage_key))
    whole = tmp_path / "whole.ts"
    whole.write_bytes(media.hls.plain_bytes)
    extract_audio(whole, tmp_path / "from-file.m4a")
    assert audio_packet_payloads(audio) == audio_packet_payloads(tmp_path / "from-file.m4a")


def test_a_segment_that_fails_once_is_fetched_again_and_the_audio_is_whole(media, media_server):
    names = media.hls.segment_names
    segment, route = media_server.route(fail_first(media.root / "hls/ts" / names[1], 500))

    lecture = processed_lecture(playlist_with(media, media_server, {1: segment}))

    assert lecture.status == "completed", lecture.error_message
    assert route.requests == 2
    assert lecture.duration_seconds == pytest.approx(4, abs=0.5)


def test_a_segment_dropped_halfway_is_fetched_again_whole(media, media_server):
    names = media.hls.segment_names
    segment, route = media_server.route(drop_first(media.root / "hls/ts" / names[2]))

    lecture = processed_lecture(playlist_with(media, media_server, {2: segment}))

    assert lecture.status == "completed", lecture.error_message
    assert route.requests == 2
    assert lecture.duration_seconds == pytest.approx(4, abs=0.5)


def test_a_segment_answering_404_fails_the_lecture_and_stores_nothing(
    media, media_server, settings
):
    segment, _ = media_server.route(always(404))

    lecture = processed_lecture(playlist_with(media, media_server, {2: segment}))

    assert lecture.status == "failed"
    assert lecture.error_message == "127.0.0.1 answered HTTP 404"
    assert not default_storage.exists(f"audio/{lecture.id}.m4a")
    assert list(Path(settings.DOWNLOAD_TEMP_DIR).iterdir()) == []


def test_the_size_limit_holds_while_streaming(media, media_server, settings):
    settings.LECTURE_MAX_BYTES = len(media.hls.plain_bytes) // 2

    lecture = processed_lecture(media_server.file_url("hls/ts/index.m3u8"))

    assert lecture.status == "failed"
    assert lecture.error_message == str(SourceTooLarge(settings.LECTURE_MAX_BYTES))


def test_a_reader_that_stops_early_stops_the_download(media_server, lecture_settings, tmp_path):
    from lectures.fetch import source_policy

    before = fetching_threads()
    with stream_hls(
        media_server.file_url("hls/ts/index.m3u8"), tmp_path, source_policy(), lambda f: None
    ) as recording:
        assert recording.read(188)[:1] == b"G"  # an MPEG-TS sync byte
    assert fetching_threads() - before == set()


def test_a_reader_that_stops_while_a_segment_stalls_hangs_up_and_asks_no_more(
    media, media_server, settings, tmp_path
):
    from lectures.fetch import source_policy

    # A read time-out longer than the wait for the fetching thread: only hanging up on the
    # stalled segment ends that thread.
    settings.LECTURE_READ_TIMEOUT_SECONDS = 120
    second = media.root / "hls/ts" / media.hls.segment_names[1]
    stalled_url, stalled = media_server.route(stall_after(second, 1000))
    url = playlist_with(media, media_server, {1: stalled_url})
    before = fetching_threads()

    with stream_hls(url, tmp_path, source_policy(), lambda f: None) as recording:
        assert recording.read(188)[:1] == b"G"
        wait_until(
            lambda: stalled.requests, message="the fetching thread never asked for the segment"
        )

    assert fetching_threads() - before == set()
    assert stalled.requests == 1


def test_segments_past_the_memory_bound_go_through_a_scratch_file_and_retry_whole(
    media, media_server, monkeypatch, tmp_path
):
    # Segments of the test stream are ~20-30 kB: a 10 kB bound sends each through a file.
    monkeypatch.setattr(hls, "_SPOOL_BYTES", 10_000)
    names = media.hls.segment_names
    segment, route = media_server.route(drop_first(media.root / "hls/ts" / names[2]))

    lecture = processed_lecture(playlist_with(media, media_server, {2: segment}))

    assert lecture.status == "completed", lecture.error_message
    assert route.requests == 2
    whole = tmp_path / "whole.ts"
    whole.write_bytes(media.hls.plain_bytes)
    extract_audio(whole, tmp_path / "from-file.m4a")
    stored = Path(default_storage.path(lecture.audio_storage_key))
    assert audio_packet_payloads(stored) == audio_packet_payloads(tmp_path / "from-file.m4a")
