"""The SSRF list: stream URLs that must never make the server fetch from inside its network.

With production settings (private networks not allowed), each URL is refused by
``POST /api/lectures/download`` with 400 on ``stream_url``, and nothing is created or
queued. Where an address is written as a literal, the literal is put in
``PANOPTO_ALLOWED_HOSTS`` so that only the address check can refuse it. A redirect to a
private address can only be found while downloading: the lecture ends ``failed``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from django_q.models import OrmQ

from lectures import fetch
from lectures.jobs import lecture_process
from lectures.models import Lecture, LectureLink
from tests.factories import EnrollmentFactory
from tests.lectures.factories import LectureFactory
from tests.lectures.media_server import redirect, serve

pytestmark = pytest.mark.django_db

VIEWER = (
    "https://rochester.hosted.panopto.com/Panopto/Pages/Viewer.aspx"
    "?id=6f1c2a1e-3b4d-4c5e-8f90-a1b2c3d4e5f6"
)
PRODUCTION_HOSTS = ["panopto.com", "panopto.eu", "panopto.ca", "panopto.com.au", "cloudfront.net"]
PRIVATE = "a private or reserved network address"

# (stream URL, the host to allow so only the address check is left, expected message)
ADDRESS_CASES = {
    "loopback": ("http://127.0.0.1/lecture.mp4", "127.0.0.1"),
    "loopback-range": ("http://127.8.9.10/lecture.mp4", "127.8.9.10"),
    "unspecified": ("http://0.0.0.0/lecture.mp4", "0.0.0.0"),
    "10/8": ("http://10.20.30.40/lecture.mp4", "10.20.30.40"),
    "172.16/12-low": ("http://172.16.0.1/lecture.mp4", "172.16.0.1"),
    "172.16/12-high": ("http://172.31.255.254/lecture.mp4", "172.31.255.254"),
    "192.168/16": ("http://192.168.1.1/lecture.mp4", "192.168.1.1"),
    "metadata": ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
    "ipv6-loopback": ("http://[::1]/lecture.mp4", "::1"),
    "ipv6-unique-local": ("http://[fd00::1]/lecture.mp4", "fd00::1"),
    "ipv4-mapped-loopback": ("http://[::ffff:127.0.0.1]/lecture.mp4", "::ffff:127.0.0.1"),
    "ipv4-mapped-metadata": ("http://[::ffff:a9fe:a9fe]/lecture.mp4", "::ffff:169.254.169.254"),
    "decimal": ("http://2130706433/lecture.mp4", "127.0.0.1"),
    "decimal-metadata": ("http://2852039166/latest/meta-data/", "169.254.169.254"),
    "octal": ("http://0177.0.0.1/lecture.mp4", "127.0.0.1"),
    "hex": ("http://0x7f.0.0.1/lecture.mp4", "127.0.0.1"),
    "short-form": ("http://127.1/lecture.mp4", "127.0.0.1"),
    "name-resolving-to-loopback": ("http://localhost/lecture.mp4", "localhost"),
}
SHAPE_CASES = {
    "file": ("file:///etc/passwd", "stream URL must use http or https"),
    "ftp": ("ftp://media.panopto.com/lecture.mp4", "stream URL must use http or https"),
    "gopher": ("gopher://media.panopto.com:70/_x", "stream URL must use http or https"),
    "credentials": (
        "https://admin:secret@media.panopto.com/lecture.mp4",
        "stream URL must not contain credentials",
    ),
    "user-only": ("https://admin@media.panopto.com/lecture.mp4", "must not contain credentials"),
    "other-host": ("https://attacker.example/lecture.mp4", "is not an allowed Panopto host"),
    "allowed-host-as-prefix": (
        "https://panopto.com.attacker.example/lecture.mp4",
        "is not an allowed Panopto host",
    ),
    "allowed-host-as-suffix": ("https://evilpanopto.com/lecture.mp4", "not an allowed Panopto"),
}


@pytest.fixture
def production_policy(settings):
    settings.PANOPTO_ALLOW_PRIVATE_NETWORKS = False
    settings.PANOPTO_ALLOWED_HOSTS = list(PRODUCTION_HOSTS)
    return settings


@pytest.fixture
def course(alice):
    return EnrollmentFactory(user=alice).course


def request_download(client, course, stream_url, capture):
    body = {"course_id": str(course.id), "panopto_url": VIEWER, "stream_url": stream_url}
    with capture(execute=True):
        return client.post("/api/lectures/download", body, format="json")


def assert_refused(response, message: str) -> None:
    assert response.status_code == 400
    assert message in " ".join(response.json()["errors"]["stream_url"])
    assert not Lecture.objects.exists()
    assert not LectureLink.objects.exists()
    assert not OrmQ.objects.exists()


@pytest.mark.parametrize(("url", "allowed"), ADDRESS_CASES.values(), ids=ADDRESS_CASES.keys())
def test_a_stream_url_on_a_private_address_is_refused(
    alice_client, course, production_policy, django_capture_on_commit_callbacks, url, allowed
):
    production_policy.PANOPTO_ALLOWED_HOSTS.append(allowed)

    response = request_download(alice_client, course, url, django_capture_on_commit_callbacks)

    assert_refused(response, PRIVATE)


@pytest.mark.parametrize(("url", "message"), SHAPE_CASES.values(), ids=SHAPE_CASES.keys())
def test_a_stream_url_of_the_wrong_shape_or_host_is_refused(
    alice_client, course, production_policy, django_capture_on_commit_callbacks, url, message
):
    response = request_download(alice_client, course, url, django_capture_on_commit_callbacks)

    assert_refused(response, message)


def test_the_refusal_names_the_host_but_never_echoes_the_url(
    alice_client, course, production_policy, django_capture_on_commit_callbacks
):
    url = "https://admin:hunter2@media.panopto.com/lecture.mp4?signature=SECRET"

    response = request_download(alice_client, course, url, django_capture_on_commit_callbacks)

    assert response.status_code == 400
    assert "hunter2" not in response.content.decode()
    assert "SECRET" not in response.content.decode()


# --- found while downloading: a redirect -------------------------------------------------


@pytest.fixture
def only_the_media_server_exempt(lecture_settings, monkeypatch):
    """Production policy, except that exactly 127.0.0.1 (the test media server) may be
    reached: the first hop is then allowed and only the redirect's target can be refused."""
    lecture_settings.PANOPTO_ALLOW_PRIVATE_NETWORKS = False
    lecture_settings.PANOPTO_ALLOWED_HOSTS = ["127.0.0.1"]
    real = fetch.source_policy
    monkeypatch.setattr(
        fetch.sources,
        "source_policy",
        lambda: dataclasses.replace(real(), exempt_networks=("127.0.0.1/32",)),
    )


@pytest.mark.usefixtures("only_the_media_server_exempt")
@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.7/lecture.mp4",
        "http://192.168.1.1/lecture.mp4",
        "http://127.0.0.2:{port}/files/lecture.mp4",
        "http://[::1]:{port}/files/lecture.mp4",
        "http://[::ffff:127.0.0.2]:{port}/files/lecture.mp4",
        "http://2130706434:{port}/files/lecture.mp4",
    ],
)
def test_a_redirect_to_a_private_address_fails_the_lecture(media, media_server, target):
    location = target.format(port=media_server.port)
    url, first_hop = media_server.route(redirect(location))
    lecture = LectureFactory(stream_url=url)

    outcome = lecture_process(lecture_id=lecture.id)

    lecture.refresh_from_db()
    assert (outcome, lecture.status) == ("failed", Lecture.Status.FAILED)
    assert PRIVATE in lecture.error_message
    assert lecture.audio_storage_key == ""
    assert first_hop.requests == 1


@pytest.mark.usefixtures("only_the_media_server_exempt")
def test_a_redirect_to_another_scheme_fails_the_lecture(media_server):
    url, _ = media_server.route(redirect("file:///etc/passwd"))
    lecture = LectureFactory(stream_url=url)

    lecture_process(lecture_id=lecture.id)

    lecture.refresh_from_db()
    assert lecture.status == Lecture.Status.FAILED
    assert "http or https" in lecture.error_message


@pytest.mark.usefixtures("only_the_media_server_exempt")
def test_the_exempt_media_server_itself_still_serves(media, media_server):
    # The control: without the redirect the same set-up completes, so the failures above
    # are the redirect's target being refused and nothing else.
    url, _ = media_server.route(serve(Path(media.h264_aac)))
    lecture = LectureFactory(stream_url=url)

    assert lecture_process(lecture_id=lecture.id) == "completed"
