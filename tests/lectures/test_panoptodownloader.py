"""The optional PanoptoDownloader adapter, against the real package (1.4.3).

The package is not on the package index: ``make install-dev`` installs it from
``../shared/vendor/`` with ``pip install --no-deps`` (its dependencies, at current versions,
are in requirements-dev.txt). Without it, the tests of the real package are skipped and say
why. The package refuses IP hosts such as ``127.0.0.1`` (and ``localhost``), so those tests
use a media server on ``127.0.0.10``, loopback too. A stand-in module replaces the package
only where a fault must be injected that the real one cannot be made to show.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from tests.lectures.factories import processed_lecture
from tests.lectures.media import audio_packet_payloads
from tests.lectures.media_server import MediaServer, always, drop_first, serve

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lecture_settings")]

ARCHIVE = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "vendor"
    / "PanoptoDownloader-1.4.3.tar.gz"
)
NAMED_HOST = "127.0.0.10"


def _why_not_installed() -> str:
    if ARCHIVE.exists():
        return f"PanoptoDownloader is not installed: `make install-dev` installs it from {ARCHIVE}"
    return f"PanoptoDownloader is not installed and its archive is absent ({ARCHIVE})"


real_package = pytest.mark.skipif(
    importlib.util.find_spec("PanoptoDownloader") is None, reason=_why_not_installed()
)


@pytest.fixture(scope="module")
def named_server(media) -> MediaServer:
    """The media server on 127.0.0.10: an address the package's URL pattern accepts."""
    server = MediaServer(media.root, host=NAMED_HOST).start()
    yield server
    server.stop()


@pytest.fixture
def package_settings(settings):
    settings.LECTURE_DOWNLOADER = "panoptodownloader"
    settings.PANOPTO_ALLOWED_HOSTS = ["127.0.0.1", NAMED_HOST]
    return settings


# --- the real package ------------------------------------------------------------------


@real_package
def test_the_package_downloads_an_mp4_and_the_lecture_completes(
    package_settings, named_server, media
):
    lecture = processed_lecture(named_server.file_url("lecture.mp4"))

    assert (lecture.outcome, lecture.status, lecture.progress) == ("completed", "completed", 100)
    audio = Path(default_storage.path(lecture.audio_storage_key))
    assert audio_packet_payloads(audio) == audio_packet_payloads(media.h264_aac)


@real_package
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_the_package_refuses_an_ip_or_localhost_url_before_connecting(
    package_settings, media_server, media, host
):
    package_settings.PANOPTO_ALLOWED_HOSTS = [host]
    url, route = media_server.route(serve(media.h264_aac), suffix="/lecture.mp4")

    lecture = processed_lecture(url.replace("127.0.0.1", host))

    assert (lecture.outcome, lecture.status) == ("failed", "failed")
    assert lecture.error_message == (
        "PanoptoDownloader does not take this URL (it needs a host name, "
        "not an IP address or localhost)"
    )
    assert route.requests == 0


@real_package
def test_the_size_limit_is_enforced_while_the_package_writes(package_settings, named_server):
    package_settings.LECTURE_MAX_BYTES = 20_000

    lecture = processed_lecture(named_server.file_url("lecture.mp4"))

    assert lecture.status == "failed"
    assert lecture.error_message == "recording is larger than the 19.5 KiB limit"
    assert list(Path(package_settings.DOWNLOAD_TEMP_DIR).iterdir()) == []


@real_package
def test_an_html_page_is_not_a_video(package_settings, named_server):
    url, route = named_server.route(always(200, b"<html>Sign in</html>", "text/html"))

    lecture = processed_lecture(url)

    assert lecture.error_message == "source is not a video"
    assert route.requests == 0  # refused on the HEAD, before any GET


@real_package
def test_an_audio_only_file_is_refused_by_the_package_as_not_a_video(
    package_settings, named_server
):
    # The package's HEAD check wants "video/" in the content type: use the built-in
    # downloader for audio-only sources.
    lecture = processed_lecture(named_server.file_url("audio-only.m4a"))

    assert lecture.error_message == "source is not a video"


@real_package
def test_an_http_404_fails_at_once_without_the_url(package_settings, named_server):
    url, route = named_server.route(always(404, b"gone", "video/mp4"))

    lecture = processed_lecture(url + "?signature=s3cr3t")

    assert lecture.status == "failed"
    assert lecture.error_message == f"{NAMED_HOST} answered HTTP 404"
    assert route.requests == 1


@real_package
def test_a_dropped_connection_is_tried_again_from_the_start(package_settings, named_server, media):
    url, route = named_server.route(drop_first(media.h264_aac), suffix="/lecture.mp4")

    lecture = processed_lecture(url)

    assert lecture.status == "completed", lecture.error_message
    assert route.requests == 2
    audio = Path(default_storage.path(lecture.audio_storage_key))
    assert audio_packet_payloads(audio) == audio_packet_payloads(media.h264_aac)


@pytest.mark.parametrize("path", ["hls/ts/index.m3u8", "hls/panobf/seg000.panobf2"])
def test_hls_is_refused_before_the_package_sees_it(package_settings, media_server, path):
    lecture = processed_lecture(media_server.file_url(path))

    assert lecture.status == "failed"
    assert lecture.error_message == "PanoptoDownloader is not used for HLS; use the built-in one"


# --- faults the real package cannot be made to show: a stand-in -------------------------


@pytest.fixture
def stand_in(package_settings, monkeypatch):
    """A module with the package's interface in its place, for fault injection."""
    module = types.ModuleType("PanoptoDownloader")
    monkeypatch.setitem(sys.modules, "PanoptoDownloader", module)
    return module


def test_an_unexpected_package_error_is_a_short_message(stand_in, media_server):
    calls = []

    def broken(url, path, callback):
        calls.append(url)
        raise RuntimeError(f"Traceback-worthy details about {url}")

    stand_in.download = broken

    lecture = processed_lecture(media_server.file_url("lecture.mp4") + "?signature=s3cr3t")

    assert lecture.error_message == "PanoptoDownloader failed: RuntimeError"
    assert len(calls) == 3  # an unknown failure is tried again, as a transient one


def test_a_package_that_writes_nothing_fails_the_lecture(stand_in, media_server):
    stand_in.download = lambda url, path, callback: callback(100)

    lecture = processed_lecture(media_server.file_url("lecture.mp4"))

    assert lecture.error_message == "PanoptoDownloader wrote no file"
