"""The optional PanoptoDownloader adapter.

The package installs only from its git repository, so these tests put a stand-in module
with the package's interface (``download(url, path, callback)``) on ``sys.modules``: a
stand-in that really fetches the URL from the loopback media server, in chunks.
"""

from __future__ import annotations

import sys
import types
import urllib.request

import pytest
from django.core.files.storage import default_storage

from lectures.pipeline import lecture_process
from tests.lectures.factories import LectureFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lecture_settings")]


def fetch(url: str, path: str, callback) -> None:
    with urllib.request.urlopen(url) as response, open(path, "wb") as out:
        total = int(response.headers["Content-Length"])
        done = 0
        while chunk := response.read(16 * 1024):
            out.write(chunk)
            done += len(chunk)
            callback(done * 100 // total)


@pytest.fixture
def panoptodownloader(settings, monkeypatch):
    module = types.ModuleType("PanoptoDownloader")
    module.download = fetch
    monkeypatch.setitem(sys.modules, "PanoptoDownloader", module)
    settings.LECTURE_DOWNLOADER = "panoptodownloader"
    return module


def test_the_adapter_downloads_through_the_package(panoptodownloader, media_server):
    lecture = LectureFactory(stream_url=media_server.file_url("lecture.mp4"))

    assert lecture_process(lecture_id=lecture.id) == "completed"
    lecture.refresh_from_db()
    assert default_storage.exists(lecture.audio_storage_key)


def test_the_adapter_enforces_the_size_limit_while_the_package_streams(
    panoptodownloader, media_server, settings
):
    settings.LECTURE_MAX_BYTES = 20_000
    lecture = LectureFactory(stream_url=media_server.file_url("lecture.mp4"))

    assert lecture_process(lecture_id=lecture.id) == "failed"
    lecture.refresh_from_db()
    assert "larger than the 19.5 KiB limit" in lecture.error_message


def test_the_adapter_refuses_hls(panoptodownloader, media_server):
    lecture = LectureFactory(stream_url=media_server.file_url("hls/ts/index.m3u8"))

    assert lecture_process(lecture_id=lecture.id) == "failed"
    lecture.refresh_from_db()
    assert "not used for HLS" in lecture.error_message


def test_a_package_failure_is_a_short_message(panoptodownloader, media_server):
    def broken(url, path, callback):
        raise RuntimeError("Traceback-worthy details from inside the package")

    panoptodownloader.download = broken
    lecture = LectureFactory(stream_url=media_server.file_url("lecture.mp4"))

    lecture_process(lecture_id=lecture.id)

    lecture.refresh_from_db()
    assert lecture.error_message == "PanoptoDownloader failed: RuntimeError"
