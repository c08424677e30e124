"""Try a lecture download end to end against a running `make run` (``make demo``).

It writes a short sample recording (H.264 video, AAC tone), serves it on 127.0.0.1, and
drives the API the way the SPA would: a dev token, a course, a download request, the
status until the job ends, then the audio. Every step prints the request and the answer.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import struct
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av
import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.tokens import mint_dev_token

SAMPLE_NAME = "lecture.mp4"
WIDTH, HEIGHT, FRAME_RATE = 320, 240, 10
SAMPLE_RATE = 48000


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


class Command(BaseCommand):
    help = (
        "Try a lecture download against a running server in dev-auth mode (make run): "
        "serves a generated sample recording on 127.0.0.1, requests its download, follows "
        "the status and fetches the audio. The server must allow loopback sources: start it "
        "with PANOPTO_ALLOWED_HOSTS=127.0.0.1 PANOPTO_ALLOW_PRIVATE_NETWORKS=true."
    )

    def add_arguments(self, parser):
        port = os.environ.get("PORT", "8000")
        parser.add_argument(
            "--url", default=f"http://127.0.0.1:{port}", help="the server (default: %(default)s)"
        )
        parser.add_argument(
            "--seconds", type=int, default=30, help="length of the sample (default: 30)"
        )
        parser.add_argument(
            "--timeout", type=float, default=120, help="seconds to wait for the job (default: 120)"
        )
        parser.add_argument(
            "--work-dir",
            metavar="DIR",
            help="where the sample and the fetched audio go (default: var/demo)",
        )
        parser.add_argument(
            "--write-sample",
            metavar="PATH",
            help="only write the sample recording to PATH and exit",
        )

    def handle(
        self, *args, url: str, seconds: int, timeout: float, work_dir, write_sample, **options
    ):
        if seconds < 1:
            raise CommandError("--seconds must be at least 1")
        if write_sample:
            path = write_sample_recording(Path(write_sample), seconds=seconds)
            self.stdout.write(f"wrote {path} ({path.stat().st_size} bytes, {seconds} s)")
            return
        if not settings.DEV_AUTH_ENABLED:
            raise CommandError(
                "dev auth is off here (DEBUG and no Clerk key are needed); run this next to "
                "`make run` in the same checkout"
            )
        demo_dir = Path(work_dir) if work_dir else settings.VAR_DIR / "demo"
        write_sample_recording(demo_dir / SAMPLE_NAME, seconds=seconds)
        logging.getLogger("httpx").setLevel(logging.WARNING)  # each step prints its own line
        token = mint_dev_token(name="demo", ttl_seconds=3600)
        headers = {"Authorization": f"Bearer {token}"}
        with (
            serve_directory(demo_dir) as media_url,
            httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=10) as client,
        ):
            self._run(client, media_url, demo_dir, timeout)

    def _call(self, client: httpx.Client, method: str, path: str, **kwargs) -> httpx.Response:
        body = (
            f" -H 'Content-Type: application/json' -d '{json.dumps(kwargs['json'])}'"
            if "json" in kwargs
            else ""
        )
        self.stdout.write(
            f'\n$ curl -X {method} -H "Authorization: Bearer $TOKEN" {client.base_url}{path}{body}'
        )
        try:
            response = client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise CommandError(
                f"cannot reach {client.base_url} ({exc}); is `make run` running?"
            ) from None
        shown = (
            response.text[:300]
            if response.headers.get("content-type", "").startswith("application/json")
            else f"<{len(response.content)} bytes of {response.headers.get('content-type')}>"
        )
        self.stdout.write(f"  {response.status_code} {shown}")
        return response

    def _run(self, client: httpx.Client, media_url: str, demo_dir: Path, timeout: float) -> None:
        self._call(client, "GET", "/healthz")
        course = self._call(
            client, "POST", "/api/courses", json={"code": "DEMO 101", "title": "StudyBuddy demo"}
        )
        if course.status_code not in (200, 201):
            raise CommandError("could not create the demo course (see the answer above)")
        session = uuid.uuid4()
        request = {
            "course_id": course.json()["id"],
            "panopto_url": f"https://demo.hosted.panopto.com/Panopto/Pages/Viewer.aspx?id={session}",
            "stream_url": f"{media_url}/{SAMPLE_NAME}",
            "title": "Demo lecture",
        }
        lecture = self._call(client, "POST", "/api/lectures/download", json=request)
        if lecture.status_code == 400 and "stream_url" in lecture.json():
            raise CommandError(
                "the server refuses loopback sources: restart it with "
                "PANOPTO_ALLOWED_HOSTS=127.0.0.1 PANOPTO_ALLOW_PRIVATE_NETWORKS=true make run"
            )
        if lecture.status_code not in (200, 202):
            raise CommandError("the download request was refused (see the answer above)")
        lecture_id = lecture.json()["id"]

        status = self._follow(client, lecture_id, timeout)
        if status["status"] != "completed":
            raise CommandError(f"the lecture ended {status['status']}: {status['error_message']}")
        audio = self._call(client, "GET", f"/api/lectures/{lecture_id}/audio")
        if audio.status_code != 200:
            raise CommandError("the audio could not be fetched (see the answer above)")
        saved = demo_dir / f"{lecture_id}.m4a"
        saved.write_bytes(audio.content)
        self.stdout.write(f"\nThe audio of lecture {lecture_id} is in {saved}.")

    def _follow(self, client: httpx.Client, lecture_id: str, timeout: float) -> dict:
        """Poll the status route until the job ends, printing each change."""
        path = f"/api/lectures/{lecture_id}/status"
        self.stdout.write(
            f'\n$ curl -H "Authorization: Bearer $TOKEN" {client.base_url}{path}'
            "   (every 0.5 s until the job ends)"
        )
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            status = client.get(path).json()
            shown = (status["status"], status["progress"])
            if shown != last:
                self.stdout.write(f"  200 status={status['status']} progress={status['progress']}")
                last = shown
            if status["status"] in ("completed", "failed"):
                return status
            time.sleep(0.5)
        raise CommandError(
            f"the job did not end within {timeout:.0f} s: is the worker running (make run "
            "starts one)?"
        )
