"""Sample files for trying the service: a short recording and a one-page PDF, and a
loopback HTTP server that serves a directory (the recording's "Panopto" host)."""

from __future__ import annotations

import functools
import math
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av

WIDTH, HEIGHT, FRAME_RATE = 320, 240, 10
SAMPLE_RATE = 48000

DOCUMENT_LINES = (
    "CSC 173, week 1: finite automata",
    "A finite automaton reads a string one symbol at a time.",
    "The languages finite automata accept are the regular languages.",
)


def write_sample_recording(path: Path, *, seconds: int) -> Path:
    """A recording like Panopto's: H.264 video and an AAC track (a 440 Hz tone)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=FRAME_RATE, options={"preset": "ultrafast"})
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        audio = out.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
        for i in range(seconds * FRAME_RATE):
            frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
            for plane in frame.planes:
                plane.update(bytes([(i * 4) % 255]) * plane.buffer_size)
            frame.pts, frame.time_base = i, Fraction(1, FRAME_RATE)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        frame_size = audio.codec_context.frame_size or 1024
        for start in range(0, seconds * SAMPLE_RATE, frame_size):
            tone = (
                int(9000 * math.sin(2 * math.pi * 440 * n / SAMPLE_RATE))
                for n in range(start, start + frame_size)
            )
            frame = av.AudioFrame(format="s16", layout="mono", samples=frame_size)
            frame.planes[0].update(struct.pack(f"<{frame_size}h", *tone))
            frame.sample_rate, frame.pts = SAMPLE_RATE, start
            out.mux(audio.encode(frame))
        out.mux(audio.encode(None))
    return path


def write_sample_document(path: Path) -> Path:
    """A one-page PDF of ``DOCUMENT_LINES`` (Helvetica, a text layer the text job reads)."""
    escaped = (
        line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        for line in DOCUMENT_LINES
    )
    content = (
        "BT /F1 14 Tf 18 TL 72 720 Td " + " T* ".join(f"({line}) Tj" for line in escaped) + " ET"
    )
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
    ]
    body = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        body += f"{number} 0 obj\n{obj}\nendobj\n".encode("ascii")
    xref = len(body)
    body += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode("ascii")
    body += b"".join(f"{offset:010d} 00000 n \n".encode("ascii") for offset in offsets)
    body += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode(
            "ascii"
        )
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(body))
    return path


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on a free loopback port for as long as the block runs."""

    class QuietHandler(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    handler = functools.partial(QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
