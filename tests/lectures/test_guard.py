"""The SSRF guard: request-time validation, connect-time checks, every redirect hop."""

from __future__ import annotations

import contextlib
import datetime
import socket
import ssl
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from lectures.fetch import BlockedSource, SourcePolicy, TransientSourceError, validate_stream_url
from tests.lectures.downloads import read_recording
from tests.lectures.media import MediaSet
from tests.lectures.media_server import MediaServer, redirect, serve

PUBLIC_IP = "93.184.216.34"


def resolver_of(table: dict[str, str]):
    """A resolver answering from ``table``; unknown names fail like NXDOMAIN."""

    def resolve(host: str, _port: int) -> list[str]:
        host = host.rstrip(".")  # the absolute form of a name, as real resolvers accept
        if host not in table:
            raise OSError("Name or service not known")
        return [table[host]]

    return resolve


def public_policy(**overrides) -> SourcePolicy:
    """The production defaults, with a fake resolver so no test depends on real DNS."""
    values = {
        "resolver": resolver_of(
            {
                "rochester.hosted.panopto.com": PUBLIC_IP,
                "d2y36twrtb17ty.cloudfront.net": PUBLIC_IP,
                "panopto.com": PUBLIC_IP,
                "intranet.panopto.com": "10.1.2.3",
                "metadata.panopto.com": "169.254.169.254",
            }
        )
    }
    values.update(overrides)
    return SourcePolicy(**values)


@pytest.mark.parametrize(
    "url",
    [
        "https://rochester.hosted.panopto.com/sessions/x/master.m3u8?Policy=abc&Signature=def",
        "https://panopto.com/video.mp4",
        "http://d2y36twrtb17ty.cloudfront.net/a.mp4",
        "https://ROCHESTER.hosted.Panopto.com./video.mp4",
    ],
)
def test_allowed_hosts_and_their_subdomains_pass(url: str) -> None:
    validate_stream_url(url, public_policy())


def test_an_unresolvable_allowed_host_is_left_for_the_worker_to_judge() -> None:
    validate_stream_url("https://nope.panopto.com/video.mp4", public_policy())


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "http or https"),
        ("ftp://rochester.hosted.panopto.com/video.mp4", "http or https"),
        ("gopher://rochester.hosted.panopto.com/", "http or https"),
        ("https://user:secret@rochester.hosted.panopto.com/video.mp4", "credentials"),
        ("https://user@rochester.hosted.panopto.com/video.mp4", "credentials"),
        ("https://example.com/video.mp4", "not an allowed"),
        ("https://evilpanopto.com/video.mp4", "not an allowed"),
        ("https://panopto.com.evil.net/video.mp4", "not an allowed"),
        ("https://intranet.panopto.com/video.mp4", "private"),
        ("https://metadata.panopto.com/latest/meta-data", "private"),
        ("https:///video.mp4", "no host"),
        ("http://[::1/", "not a valid URL"),
    ],
)
def test_refused_stream_urls_say_why(url: str, reason: str) -> None:
    with pytest.raises(BlockedSource, match=reason):
        validate_stream_url(url, public_policy())


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "2130706433",  # 127.0.0.1 as one decimal number
        "0177.0.0.1",  # octal
        "0x7f.1",  # hexadecimal, short form
        "127.1",
        "[::ffff:127.0.0.1]",  # IPv4-mapped IPv6
        "[::ffff:8.8.8.8]",  # mapped, even for a public address
        "[::1]",
        "0.0.0.0",
        "[::]",
        "169.254.169.254",  # cloud metadata
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "100.64.0.1",  # carrier-grade NAT
        "224.0.0.1",  # multicast
        "240.0.0.1",  # reserved
        "[fe80::1]",
        "[fc00::1]",
        "[2002:7f00:1::]",  # 6to4 wrapping 127.0.0.1
    ],
)
def test_ip_literals_of_private_or_reserved_addresses_are_refused(host: str) -> None:
    # The literal is allowed by name, so only the address check can refuse it.
    policy = public_policy(allowed_hosts=(host.strip("[]"),))

    with pytest.raises(BlockedSource, match="private or reserved"):
        validate_stream_url(f"http://{host}/video.mp4", policy)


def test_ip_literals_in_the_allow_list_match_whatever_their_spelling() -> None:
    policy = public_policy(allowed_hosts=("127.0.0.1",), allow_private_networks=True)

    validate_stream_url("http://2130706433/video.mp4", policy)
    validate_stream_url("http://0177.0.0.1/video.mp4", policy)
    with pytest.raises(BlockedSource, match="not an allowed"):
        validate_stream_url("http://127.0.0.2/video.mp4", policy)


def test_allow_private_networks_lets_private_hosts_through() -> None:
    validate_stream_url(
        "https://intranet.panopto.com/video.mp4", public_policy(allow_private_networks=True)
    )


def test_a_public_ip_literal_in_the_allow_list_passes() -> None:
    validate_stream_url(f"http://{PUBLIC_IP}/v.mp4", public_policy(allowed_hosts=(PUBLIC_IP,)))


# --------------------------------------------------------------------- connect time


def loopback_exempt_policy(server: MediaServer, table: dict[str, str]) -> SourcePolicy:
    """Private networks blocked, except exactly 127.0.0.1 (where the test server is)."""
    return SourcePolicy(
        allowed_hosts=("127.0.0.1", "panopto.com"),
        exempt_networks=("127.0.0.1/32",),
        resolver=resolver_of(table),
        connect_timeout=2.0,
        read_timeout=2.0,
        max_retries=0,
        backoff_base=0.01,
    )


def test_a_download_connects_to_the_vetted_address_and_keeps_the_host_name(
    media: MediaSet, media_server: MediaServer, scratch: Path
) -> None:
    url, route = media_server.route(serve(media.h264_aac))
    named = url.replace("127.0.0.1", "video.panopto.com")
    policy = loopback_exempt_policy(media_server, {"video.panopto.com": "127.0.0.1"})

    data = read_recording(named, scratch, policy)

    assert data == media.h264_aac.read_bytes()
    assert route.host_headers == [f"video.panopto.com:{media_server.port}"]


def test_dns_rebinding_between_validation_and_connect_is_caught(
    media: MediaSet, media_server: MediaServer, scratch: Path
) -> None:
    answers = iter([PUBLIC_IP, "127.0.0.1"])

    def rebinding_resolver(_host: str, _port: int) -> list[str]:
        return [next(answers)]

    url, route = media_server.route(serve(media.h264_aac))
    url = url.replace("127.0.0.1", "rebind.panopto.com")
    policy = SourcePolicy(resolver=rebinding_resolver, max_retries=0)
    validate_stream_url(url, policy)  # first answer: a public address

    with pytest.raises(BlockedSource, match="private or reserved"):
        read_recording(url, scratch, policy)  # second answer: loopback

    assert route.requests == 0


def test_the_downloader_checks_the_address_even_when_validation_was_skipped(
    media: MediaSet, media_server: MediaServer, scratch: Path
) -> None:
    url, route = media_server.route(serve(media.h264_aac))
    policy = SourcePolicy(allowed_hosts=("127.0.0.1",), max_retries=0)

    with pytest.raises(BlockedSource, match="private or reserved"):
        read_recording(url, scratch, policy)

    assert route.requests == 0


def test_the_downloader_checks_the_allow_list_too(media_server: MediaServer, scratch: Path) -> None:
    with pytest.raises(BlockedSource, match="not an allowed"):
        read_recording(media_server.file_url("lecture.mp4"), scratch, SourcePolicy())


# --------------------------------------------------------------------- redirects


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.2:{port}/files/lecture.mp4",
        "http://2130706434:{port}/files/lecture.mp4",
        "http://0177.0.0.2:{port}/files/lecture.mp4",
        "http://[::ffff:127.0.0.1]:{port}/files/lecture.mp4",
        "http://[::1]:{port}/files/lecture.mp4",
        "http://intranet.example.org/video.mp4",
    ],
)
def test_a_redirect_from_an_allowed_host_to_a_private_address_is_refused(
    media_server: MediaServer, scratch: Path, target: str
) -> None:
    url, first_hop = media_server.route(redirect(target.format(port=media_server.port)))
    policy = loopback_exempt_policy(media_server, {"intranet.example.org": "10.0.0.7"})

    with pytest.raises(BlockedSource, match="private or reserved"):
        read_recording(url, scratch, policy)

    assert first_hop.requests == 1


def test_a_redirect_chain_to_another_host_is_followed(
    media: MediaSet, media_server: MediaServer, scratch: Path
) -> None:
    final, _ = media_server.route(serve(media.h264_aac))
    # Redirect targets need not be on the allow list: cdn.example.net is not.
    cdn = final.replace("127.0.0.1", "cdn.example.net")
    middle, _ = media_server.route(redirect(cdn, 307))
    first, _ = media_server.route(redirect(middle, 301))
    policy = loopback_exempt_policy(media_server, {"cdn.example.net": "127.0.0.1"})

    data = read_recording(first, scratch, policy)

    assert data == media.h264_aac.read_bytes()


def test_a_redirect_to_a_non_http_scheme_is_refused(
    media_server: MediaServer, scratch: Path
) -> None:
    url, _ = media_server.route(redirect("file:///etc/passwd"))

    with pytest.raises(BlockedSource, match="http or https"):
        read_recording(url, scratch, loopback_exempt_policy(media_server, {}))


def test_too_many_redirects_are_refused(media_server: MediaServer, scratch: Path) -> None:
    url, _ = media_server.route(redirect("/files/lecture.mp4"))
    for _ in range(6):
        url, _ = media_server.route(redirect(url))

    with pytest.raises(BlockedSource, match="too many redirects"):
        read_recording(url, scratch, loopback_exempt_policy(media_server, {}))


def test_hls_segments_on_private_addresses_are_refused(
    media_server: MediaServer, scratch: Path, tmp_path: Path
) -> None:
    playlist = (
        "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n"
        "http://169.254.169.254/latest/meta-data/iam.ts\n#EXT-X-ENDLIST\n"
    )

    def behaviour(handler, _route) -> None:
        handler.send_body(200, playlist.encode(), "application/vnd.apple.mpegurl")

    url, _ = media_server.route(behaviour, suffix="/index.m3u8")

    with pytest.raises(BlockedSource, match="private or reserved"):
        read_recording(url, scratch, loopback_exempt_policy(media_server, {}))


def test_relative_variant_and_key_uris_are_fetched_from_the_playlist_host_through_the_guard(
    media: MediaSet, media_server: MediaServer, scratch: Path
) -> None:
    aes = media.root / "hls/aes"
    key_url, key_route = media_server.route(serve(aes / "key.bin"), suffix="/keys/key.bin")
    key_dir = urlsplit(key_url).path.split("/")[2]
    # From /r/<media>/media/index.m3u8: the key two levels up, the segments three.
    lines = []
    for line in (aes / "index.m3u8").read_text().splitlines():
        line = line.replace('URI="key.bin"', f'URI="../../{key_dir}/keys/key.bin"')
        lines.append(line if line.startswith("#") else f"../../../files/hls/aes/{line}")
    media_text = "\n".join(lines) + "\n"

    def media_playlist(handler, _route) -> None:
        handler.send_body(200, media_text.encode(), "application/vnd.apple.mpegurl")

    media_url, media_route = media_server.route(media_playlist, suffix="/media/index.m3u8")
    media_dir = urlsplit(media_url).path.split("/")[2]
    master_text = (
        '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=200000,CODECS="avc1.42e00a,mp4a.40.2"\n'
        f"../{media_dir}/media/index.m3u8?token=abc\n"
    )

    def master_playlist(handler, _route) -> None:
        handler.send_body(200, master_text.encode(), "application/vnd.apple.mpegurl")

    master_url, _ = media_server.route(master_playlist, suffix="/master.m3u8")
    # A name only the policy's resolver knows: every request below went through the guard.
    named = master_url.replace("127.0.0.1", "video.panopto.com")
    policy = loopback_exempt_policy(media_server, {"video.panopto.com": "127.0.0.1"})

    data = read_recording(named, scratch, policy)

    assert data == media.hls.plain_bytes
    assert media_route.host_headers == [f"video.panopto.com:{media_server.port}"]
    assert key_route.host_headers == [f"video.panopto.com:{media_server.port}"]


def test_a_relative_key_uri_to_a_private_address_is_refused_before_any_segment(
    media: MediaSet, media_server: MediaServer, scratch: Path
) -> None:
    segment_url, segment_route = media_server.route(serve(media.root / "hls/aes/seg000.enc"))
    playlist = (
        '#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI="//169.254.169.254/latest/key"\n'
        f"#EXTINF:1.0,\n{segment_url}\n#EXT-X-ENDLIST\n"
    )

    def behaviour(handler, _route) -> None:
        handler.send_body(200, playlist.encode(), "application/vnd.apple.mpegurl")

    url, _ = media_server.route(behaviour, suffix="/index.m3u8")

    with pytest.raises(BlockedSource, match="private or reserved"):
        read_recording(url, scratch, loopback_exempt_policy(media_server, {}))

    assert segment_route.requests == 0


# --------------------------------------------------------------------- TLS


@pytest.fixture
def tls_server(tmp_path: Path):
    """A TLS server on 127.0.0.1 with a self-signed certificate for video.panopto.com;
    records the server name (SNI) the client asked for and how the handshake ended."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "video.panopto.com")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("video.panopto.com")]), False)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    seen: dict[str, str | None] = {}
    context.sni_callback = lambda _sock, server_name, _ctx: seen.update(server_name=server_name)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)

    def serve() -> None:
        with contextlib.suppress(OSError):
            connection, _ = listener.accept()
            try:
                context.wrap_socket(connection, server_side=True).close()
                seen["handshake"] = "completed"
            except ssl.SSLError as exc:
                seen["handshake"] = exc.reason

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], seen, thread
    listener.close()


def test_tls_uses_the_host_name_for_sni_and_checks_the_certificate(
    tls_server, scratch: Path
) -> None:
    port, seen, server_thread = tls_server
    policy = SourcePolicy(
        allowed_hosts=("panopto.com",),
        exempt_networks=("127.0.0.1/32",),
        resolver=resolver_of({"video.panopto.com": "127.0.0.1"}),
        connect_timeout=2.0,
        read_timeout=2.0,
        max_retries=0,
    )

    # Connected to 127.0.0.1, but the handshake named the host, and the self-signed
    # certificate was refused: the address changes, the TLS checks do not.
    with pytest.raises(TransientSourceError, match=r"video\.panopto\.com"):
        read_recording(f"https://video.panopto.com:{port}/lecture.mp4", scratch, policy)

    server_thread.join(timeout=5)
    assert seen == {"server_name": "video.panopto.com", "handshake": "TLSV1_ALERT_UNKNOWN_CA"}
