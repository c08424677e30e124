"""An HLS stream read while it downloads: playlists, keys and segments fetched through the
guard, AES-128 decrypted, handed on in order.

From a master playlist, an audio-only rendition is taken when there is one; otherwise the
first segment of each variant with audio is fetched and probed, and the smallest variant
whose audio is the same as the best one's is read (``renditions``); its probed first
segment is kept, not fetched twice. The segments, whatever their extension (Panopto
serves ``.ts``, ``.panobf1``, ``.panobf2``), are fetched one by one, each retried whole on
a transient failure and decrypted when the playlist says AES-128, and handed on as one
MPEG-TS (or fragmented MP4, init segment first) stream that FFmpeg demuxes as it arrives
(:mod:`~lectures.fetch.stream`).
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import httpx
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from lectures.fetch.errors import NotMediaSource, SourceError, SourceTooLarge, UnsupportedSource
from lectures.fetch.guard import SourcePolicy, display_host
from lectures.fetch.media import is_media_type, media_type
from lectures.fetch.playlist import (
    MAX_PLAYLIST_BYTES,
    Segment,
    Variant,
    media_segments,
    parse_playlist,
    rendition_plan,
)
from lectures.fetch.progress import Progress
from lectures.fetch.renditions import Probed, choose_probed, probe_audio
from lectures.fetch.retry import with_retries
from lectures.fetch.transport import GuardedSession, lost_connection, open_url

__all__ = ["HLSDownload"]

_AES_KEY_BYTES = 16
_CHUNK_BYTES = 256 * 1024
# A segment is held in memory up to this size while it downloads, on disk past it.
_SPOOL_BYTES = 16 * 1024 * 1024


class HLSDownload:
    """An HLS stream: playlists parsed with ``m3u8``, every byte fetched through the guard."""

    def __init__(
        self,
        client: GuardedSession,
        policy: SourcePolicy,
        progress: Progress,
        *,
        stop: threading.Event,
        on_response: Callable[[httpx.Response], None],
    ) -> None:
        """``stop``: set when nobody reads the download any more (no request is retried
        then); ``on_response`` is handed each segment's answer before its body is read."""
        self._client = client
        self._policy = policy
        self._progress = progress
        self._stop = stop
        self._on_response = on_response
        self._keys: dict[str, bytes] = {}

    def chunks(self, url: str, scratch: Path) -> Iterator[bytes]:
        """The stream at ``url`` as bytes, in order, segment after segment, for a demuxer
        reading while the download goes on: each segment is fetched whole (retried whole)
        into a buffer first, so a retry never repeats bytes already handed on.
        ``scratch`` is a directory for the probes and for a segment too big for memory."""
        segments, head = self._plan(url, scratch)
        total = 0
        current_init: str | None = None
        skip = 0
        if head is not None:
            with open(head, "rb") as first:
                for block in iter(lambda: first.read(_CHUNK_BYTES), b""):
                    total += len(block)
                    yield block
            head.unlink()
            current_init, skip = segments[0].init_uri, 1
            self._progress(1, len(segments))
        for index, segment in enumerate(segments):
            if index < skip:
                continue
            with _SegmentBuffer(scratch) as buffer:
                if segment.init_uri and segment.init_uri != current_init:
                    # fMP4: the init segment (moov) goes first, and again if it changes.
                    self._append(buffer, segment.init_uri, None, already=total)
                    current_init = segment.init_uri
                self._append(buffer, segment.uri, segment, already=total)
                total += buffer.tell()
                yield from buffer.chunks()
            self._progress(index + 1, len(segments))

    def _plan(self, url: str, scratch: Path) -> tuple[list[Segment], Path | None]:
        """The segments to fetch (from the rendition chosen in a master playlist), and the
        first one on disk (in ``scratch``) when probing fetched it already."""
        text, final_url = self._fetch_playlist(url)
        playlist = parse_playlist(text, final_url)
        if not playlist.is_variant:
            return media_segments(playlist, final_url), None
        plan = rendition_plan(playlist, final_url)
        if plan.audio_uri:
            return self._media_segments(plan.audio_uri), None
        if len(plan.candidates) == 1:
            return self._media_segments(plan.candidates[0].uri), None
        return self._smallest_with_best_audio(plan.candidates, scratch)

    def _media_segments(self, url: str) -> list[Segment]:
        text, final_url = self._fetch_playlist(url)
        playlist = parse_playlist(text, final_url)
        if playlist.is_variant:
            raise UnsupportedSource("HLS playlist nests master playlists")
        return media_segments(playlist, final_url)

    def _smallest_with_best_audio(
        self, candidates: tuple[Variant, ...], scratch: Path
    ) -> tuple[list[Segment], Path | None]:
        """Probe the first segment of every candidate; the segments of the smallest one
        whose audio equals the best, and its first segment on disk.

        A candidate that cannot be fetched or probed is passed over; when none can be
        probed, the highest-bandwidth one is taken as it is (what a player would play).
        """
        probed: list[Probed] = []
        fetched: dict[str, tuple[list[Segment], Path]] = {}
        first_error: SourceError | None = None
        on_disk = 0  # the probes wait on disk until one is chosen: they share the limit
        for index, candidate in enumerate(candidates):
            head = scratch / f"hls.probe{index}"
            try:
                segments = self._media_segments(candidate.uri)
                size = self._fetch_head(segments[0], head, already=on_disk)
            except SourceTooLarge:
                head.unlink(missing_ok=True)
                for _segments, probe in fetched.values():
                    probe.unlink(missing_ok=True)
                raise
            except SourceError as error:
                head.unlink(missing_ok=True)
                first_error = first_error or error
                continue
            fetched[candidate.uri] = (segments, head)
            on_disk += size
            audio = probe_audio(head)
            if audio is not None:
                probed.append(Probed(candidate.uri, candidate.bandwidth, size, audio))
        if probed:
            keep = choose_probed(probed).uri
        elif fetched:
            # Nothing FFmpeg could read on its own: the highest bandwidth, as a player
            # would; the extraction step says what is wrong with it, if anything.
            keep = next(iter(fetched))
        else:
            assert first_error is not None
            raise first_error
        for uri, (_segments, head) in fetched.items():
            if uri != keep:
                head.unlink(missing_ok=True)
        return fetched[keep]

    def _fetch_head(self, segment: Segment, path: Path, *, already: int = 0) -> int:
        """The first segment (after its init segment, if any) into ``path``; its size.
        ``already``: bytes fetched before it that count against the size limit too."""
        with open(path, "wb") as out:
            if segment.init_uri:
                self._append(out, segment.init_uri, None, already=already)
            self._append(out, segment.uri, segment, already=already)
            return out.tell()

    def _fetch_playlist(self, url: str) -> tuple[str, str]:
        """The playlist's text and its final URL (the base of relative entries)."""

        def attempt() -> tuple[str, str]:
            with open_url(self._client, url, self._policy) as (response, final_url):
                content_type = media_type(response)
                if content_type and not (
                    is_media_type(content_type) or content_type == "text/plain"
                ):
                    raise NotMediaSource("source is not a video")
                return _read_playlist_body(response, display_host(final_url)), final_url

        return with_retries(self._policy, attempt, self._stop)

    def _append(
        self,
        out: BinaryIO | _SegmentBuffer,
        url: str,
        segment: Segment | None,
        *,
        already: int = 0,
    ) -> None:
        """Fetch one segment (retried whole) and append it, decrypted, to ``out``;
        ``already`` is what the download handed on before ``out`` (for the size limit)."""
        start = out.tell()
        byte_range = segment.byte_range if segment else None
        headers = {"Range": f"bytes={byte_range[0]}-{sum(byte_range) - 1}"} if byte_range else None

        def attempt() -> None:
            out.seek(start)
            out.truncate()
            decryptor = self._decryptor(segment) if segment and segment.key else None
            with open_url(self._client, url, self._policy, headers) as (response, final_url):
                self._on_response(response)
                host = display_host(final_url)
                content_type = media_type(response)
                if content_type and not is_media_type(content_type):
                    raise NotMediaSource("source is not a video")
                if byte_range and response.status_code != 206:
                    raise UnsupportedSource(f"{host} does not serve byte ranges")
                with lost_connection(host):
                    for chunk in response.iter_raw():
                        # Bytes on disk after decryption differ by padding only: good enough.
                        if already + out.tell() + len(chunk) > self._policy.max_bytes:
                            raise SourceTooLarge(self._policy.max_bytes)
                        out.write(decryptor.update(chunk) if decryptor else chunk)
            if decryptor:
                out.write(decryptor.finalize())

        with_retries(self._policy, attempt, self._stop)

    def _decryptor(self, segment: Segment) -> _SegmentDecryptor:
        assert segment.key is not None
        key = self._keys.get(segment.key.uri)
        if key is None:
            key = self._fetch_key(segment.key.uri)
            self._keys[segment.key.uri] = key
        # Without an IV attribute, the IV is the media sequence number, big-endian (RFC 8216).
        iv = segment.key.iv or segment.sequence.to_bytes(16, "big")
        return _SegmentDecryptor(key, iv)

    def _fetch_key(self, url: str) -> bytes:
        def attempt() -> bytes:
            with open_url(self._client, url, self._policy) as (response, _final_url):
                body = b""
                for chunk in response.iter_raw(1024):
                    body += chunk
                    if len(body) > _AES_KEY_BYTES:
                        break
            if len(body) != _AES_KEY_BYTES:
                raise UnsupportedSource("HLS encryption key is not a 16-byte AES key")
            return body

        return with_retries(self._policy, attempt, self._stop)


class _SegmentBuffer:
    """One segment while it downloads, for :meth:`HLSDownload.chunks`: the chunks as they
    were received (no copy) up to ``_SPOOL_BYTES``, then a file in the scratch directory.

    What :meth:`HLSDownload._append` needs of a file: ``tell``, ``write``, and ``seek`` back
    to where an attempt started followed by ``truncate``, to retry it whole.
    """

    def __init__(self, scratch: Path) -> None:
        self._scratch = scratch
        self._held: list[bytes] = []
        self._size = 0
        self._file: BinaryIO | None = None

    def tell(self) -> int:
        return self._size

    def write(self, data: bytes) -> None:
        if self._file is None and self._size + len(data) > _SPOOL_BYTES:
            self._file = tempfile.TemporaryFile(dir=self._scratch)  # noqa: SIM115
            self._file.writelines(self._held)
            self._held = []
        if self._file is not None:
            self._file.write(data)
        elif data:
            self._held.append(bytes(data))
        self._size += len(data)

    def seek(self, position: int) -> None:
        """Only back to where an attempt started (a chunk boundary), then ``truncate``."""
        if self._file is not None:
            self._file.seek(position)
        else:
            kept = 0
            for index, chunk in enumerate(self._held):
                if kept == position:
                    del self._held[index:]
                    break
                kept += len(chunk)
        self._size = position

    def truncate(self) -> None:
        if self._file is not None:
            self._file.truncate()

    def chunks(self) -> Iterator[bytes]:
        """The segment's bytes, in order."""
        if self._file is None:
            yield from self._held
            return
        self._file.seek(0)
        yield from iter(lambda: self._file.read(_CHUNK_BYTES), b"")  # type: ignore[union-attr]

    def __enter__(self) -> _SegmentBuffer:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._file is not None:
            self._file.close()
        self._held = []


class _SegmentDecryptor:
    """AES-128-CBC with PKCS7 padding, streamed chunk by chunk."""

    def __init__(self, key: bytes, iv: bytes) -> None:
        self._cipher = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        self._unpadder = padding.PKCS7(128).unpadder()

    def update(self, data: bytes) -> bytes:
        return self._unpadder.update(self._cipher.update(data))

    def finalize(self) -> bytes:
        try:
            return self._unpadder.update(self._cipher.finalize()) + self._unpadder.finalize()
        except ValueError:
            raise UnsupportedSource("HLS segment could not be decrypted (wrong key?)") from None


def _read_playlist_body(response: httpx.Response, host: str) -> str:
    body = bytearray()
    with lost_connection(host):
        for chunk in response.iter_raw(64 * 1024):
            body += chunk
            if len(body) > MAX_PLAYLIST_BYTES:
                raise UnsupportedSource("HLS playlist is too large")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise NotMediaSource("source is not a video") from None
