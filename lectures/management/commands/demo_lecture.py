"""Try a lecture end to end against a running `make run` (``make demo``): the download,
the audio, the transcript and a search, on one machine and without internet.

It writes a short sample recording (H.264 video, AAC tone), serves it on 127.0.0.1,
starts the stand-in transcription provider (``lectures.demo.fake_transcription_provider``)
on its port, and drives the API as the dev user ``alice`` the way the SPA would: a course,
a download request, the status until the audio is ready, the audio, the status until the
transcript is ready, the transcript, and a search that lands on one of its segments. Every
step prints the request, as a curl line, and the answer.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.tokens import mint_dev_token
from lectures.demo.fake_transcription_provider import DEFAULT_PORT, FakeTranscriptionProvider
from lectures.demo.samples import serve_directory, write_sample_document, write_sample_recording

SAMPLE_NAME = "lecture.mp4"
# The README's examples use the same user, so its curl lines see what the demo made.
DEMO_USER = "alice"
TOKEN_LINE = f"TOKEN=$(.venv/bin/python manage.py dev_token --user {DEMO_USER})"
# Words of every segment the stand-in answers (``segment_text``).
SEARCH_WORDS = "fake provider"
DEFAULT_SERVICE_PORT = 8000


class Command(BaseCommand):
    help = (
        "Try a lecture against a running server in dev-auth mode (make run), without "
        "internet: serves a generated sample recording on 127.0.0.1 and requests its "
        "download, fetches the audio, waits for the transcript made by a stand-in "
        "transcription provider that the demo serves, and searches it. Start the server "
        "with PANOPTO_ALLOWED_HOSTS=127.0.0.1 PANOPTO_ALLOW_PRIVATE_NETWORKS=true "
        f"TRANSCRIPTION_BACKEND=openai TRANSCRIPTION_BASE_URL=http://127.0.0.1:{DEFAULT_PORT}/v1."
    )

    def add_arguments(self, parser):
        port = os.environ.get("PORT", str(DEFAULT_SERVICE_PORT))
        parser.add_argument(
            "--url", default=f"http://127.0.0.1:{port}", help="the server (default: %(default)s)"
        )
        parser.add_argument(
            "--provider-port",
            type=int,
            default=DEFAULT_PORT,
            help=(
                "where the stand-in transcription provider listens on 127.0.0.1, as the "
                "server's TRANSCRIPTION_BASE_URL says (default: %(default)s); when something "
                "already listens there, the demo leaves the transcription to it"
            ),
        )
        parser.add_argument(
            "--seconds", type=int, default=30, help="length of the sample (default: 30)"
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=120,
            help="seconds to wait for each job, the audio and the transcript (default: 120)",
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
        parser.add_argument(
            "--write-document",
            metavar="PATH",
            help="only write a one-page sample PDF to PATH and exit",
        )

    def handle(
        self,
        *args,
        url: str,
        provider_port: int,
        seconds: int,
        timeout: float,
        work_dir,
        write_sample,
        write_document,
        **options,
    ):
        if seconds < 1:
            raise CommandError("--seconds must be at least 1")
        if write_sample or write_document:
            if write_sample:
                path = write_sample_recording(Path(write_sample), seconds=seconds)
                self.stdout.write(f"wrote {path} ({path.stat().st_size} bytes, {seconds} s)")
            if write_document:
                path = write_sample_document(Path(write_document))
                self.stdout.write(f"wrote {path} ({path.stat().st_size} bytes, 1 page)")
            return
        if not settings.DEV_AUTH_ENABLED:
            raise CommandError(
                "dev auth is off here (DEBUG and no Clerk key are needed); run this next to "
                "`make run` in the same checkout"
            )
        self.url = url.rstrip("/")
        self.provider_url = f"http://127.0.0.1:{provider_port}/v1"
        demo_dir = Path(work_dir) if work_dir else settings.VAR_DIR / "demo"
        write_sample_recording(demo_dir / SAMPLE_NAME, seconds=seconds)
        logging.getLogger("httpx").setLevel(logging.WARNING)  # each step prints its own line
        token = mint_dev_token(name=DEMO_USER, ttl_seconds=3600)
        self.stdout.write(
            f"Acting as the dev user {DEMO_USER}; the same user's token, for the curl lines "
            f"below and the README's:\n  {TOKEN_LINE}"
        )
        with (
            serve_directory(demo_dir) as media_url,
            self._provider(provider_port) as provider,
            httpx.Client(
                base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=10
            ) as client,
        ):
            lecture_id = self._audio(client, media_url, demo_dir, timeout)
            self._transcript(client, lecture_id, provider, timeout)
        self.stdout.write(
            f"\nEverything above belongs to the dev user {DEMO_USER}; to call the API as them:\n"
            f"  {TOKEN_LINE}\n"
            f'  curl -H "Authorization: Bearer $TOKEN" {self.url}/api/lectures/{lecture_id}\n'
            "For real transcripts, restart the service pointed at an OpenAI-compatible "
            "provider instead of the stand-in (Groq, speaches, whisper.cpp: "
            "docs/configuration.md):\n"
            "  TRANSCRIPTION_BACKEND=openai TRANSCRIPTION_BASE_URL=https://api.openai.com/v1 "
            f"TRANSCRIPTION_API_KEY=sk-…{self._port_variable()} make run"
        )

    # --- Hints -------------------------------------------------------------------------

    def _port_variable(self) -> str:
        """`` PORT=…`` when the service is not on the default port: hints keep the user's."""
        port = urlsplit(self.url).port
        return f" PORT={port}" if port and port != DEFAULT_SERVICE_PORT else ""

    def _restart_hint(self) -> str:
        return (
            "PANOPTO_ALLOWED_HOSTS=127.0.0.1 PANOPTO_ALLOW_PRIVATE_NETWORKS=true "
            f"TRANSCRIPTION_BACKEND=openai TRANSCRIPTION_BASE_URL={self.provider_url}"
            f"{self._port_variable()} make run"
        )

    # --- The stand-in provider ---------------------------------------------------------

    @contextmanager
    def _provider(self, port: int) -> Iterator[FakeTranscriptionProvider | None]:
        """The stand-in on ``port`` while the demo runs; ``None`` when the port is taken (a
        stand-in run by ``manage.py fake_transcription_provider``, or the user's own)."""
        try:
            provider = FakeTranscriptionProvider(port=port).start()
        except OSError:
            self.stdout.write(
                f"127.0.0.1:{port} is in use: the transcript is left to whatever provider "
                "answers there."
            )
            yield None
            return
        try:
            yield provider
        finally:
            provider.stop()

    # --- The steps ---------------------------------------------------------------------

    def _call(
        self, client: httpx.Client, method: str, path: str, *, params=None, **kwargs
    ) -> httpx.Response:
        body = (
            f" -H 'Content-Type: application/json' -d '{json.dumps(kwargs['json'])}'"
            if "json" in kwargs
            else ""
        )
        shown = f"'{self.url}{path}?{urlencode(params)}'" if params else f"{self.url}{path}"
        self.stdout.write(f'\n$ curl -X {method} -H "Authorization: Bearer $TOKEN" {shown}{body}')
        try:
            response = client.request(method, path, params=params, **kwargs)
        except httpx.HTTPError as exc:
            raise CommandError(f"cannot reach {self.url} ({exc}); is `make run` running?") from None
        answer = (
            response.text[:300]
            if response.headers.get("content-type", "").startswith("application/json")
            else f"<{len(response.content)} bytes of {response.headers.get('content-type')}>"
        )
        self.stdout.write(f"  {response.status_code} {answer}")
        return response

    def _audio(self, client: httpx.Client, media_url: str, demo_dir: Path, timeout: float) -> str:
        """A course, the download of the sample, its audio; returns the lecture's id."""
        self._call(client, "GET", "/healthz")
        course = self._call(
            client, "POST", "/api/courses", json={"code": "DEMO 101", "title": "StudyBuddy demo"}
        )
        if course.status_code not in (200, 201):
            raise CommandError("could not create the demo course (see the answer above)")
        self.course_id = course.json()["id"]
        session = uuid.uuid4()  # a new lecture on every run, not the last run's
        request = {
            "course_id": self.course_id,
            "panopto_url": f"https://demo.hosted.panopto.com/Panopto/Pages/Viewer.aspx?id={session}",
            "stream_url": f"{media_url}/{SAMPLE_NAME}",
            "title": "Demo lecture",
        }
        lecture = self._call(client, "POST", "/api/lectures/download", json=request)
        if lecture.status_code == 400 and "stream_url" in lecture.json():
            raise CommandError(
                f"the server refuses loopback sources: restart it with {self._restart_hint()}"
            )
        if lecture.status_code not in (200, 202):
            raise CommandError("the download request was refused (see the answer above)")
        lecture_id = lecture.json()["id"]

        status = self._follow(
            client,
            lecture_id,
            timeout,
            fields=("status", "progress"),
            until=lambda s: s["status"] in ("completed", "failed"),
            waiting="the job",
        )
        if status["status"] != "completed":
            raise CommandError(f"the lecture ended {status['status']}: {status['error_message']}")
        audio = self._call(client, "GET", f"/api/lectures/{lecture_id}/audio")
        if audio.status_code != 200:
            raise CommandError("the audio could not be fetched (see the answer above)")
        saved = demo_dir / f"{lecture_id}.m4a"
        saved.write_bytes(audio.content)
        self.stdout.write(f"\nThe audio of lecture {lecture_id} is in {saved}.")
        return lecture_id

    def _transcript(
        self,
        client: httpx.Client,
        lecture_id: str,
        provider: FakeTranscriptionProvider | None,
        timeout: float,
    ) -> None:
        """The transcript job that follows the audio, the transcript, and a search hit."""
        where = (
            f"the demo serves the fake transcription provider on {provider.base_url}, a "
            "stand-in with no speech recognition whose text says so"
            if provider
            else f"something else answers on {self.provider_url}"
        )
        self.stdout.write(
            "\nNext the transcript: the worker sends the audio to the server's "
            f"TRANSCRIPTION_BASE_URL; {where}."
        )
        path = f"/api/lectures/{lecture_id}/status"
        if client.get(path).json()["transcript_status"] == "none":
            # The audio job queues the transcript just after it completes; asking covers
            # that moment, and tells a server with transcription off.
            queued = self._call(client, "POST", f"/api/lectures/{lecture_id}/transcript")
            if queued.status_code == 409 and queued.json()["code"] == "transcription_disabled":
                raise CommandError(
                    f"transcription is off in the server: restart it with {self._restart_hint()}"
                )
        status = self._follow(
            client,
            lecture_id,
            timeout,
            fields=("transcript_status", "transcript_progress"),
            until=lambda s: s["transcript_status"] in ("completed", "failed"),
            waiting="the transcript",
        )
        if status["transcript_status"] != "completed":
            raise CommandError(
                f"the transcript failed: {status['transcript_error']}\nIs the server's "
                f"TRANSCRIPTION_BASE_URL {self.provider_url}? Restart it with "
                f"{self._restart_hint()}"
            )
        transcript = self._call(client, "GET", f"/api/lectures/{lecture_id}/transcript")
        segments = transcript.json()["segments"]
        for segment in segments[:3]:
            self.stdout.write(
                f"  {segment['start']:7.3f}-{segment['end']:7.3f} s  {segment['text']}"
            )
        stand_in = provider is not None and provider.answered > 0
        if provider is not None and not stand_in:
            self.stdout.write(
                "  (transcribed by the server's own provider: its TRANSCRIPTION_BASE_URL is "
                f"not the stand-in's {provider.base_url})"
            )
        if not segments:
            self.stdout.write("  No speech heard in the sample's tone: nothing to search.")
            return
        self._search(client, lecture_id, stand_in=stand_in)

    def _search(self, client: httpx.Client, lecture_id: str, *, stand_in: bool) -> None:
        """Search the demo course's lectures for the stand-in's words and show the hit in
        this lecture: there must be one when the stand-in made the transcript."""
        params = {"q": SEARCH_WORDS, "type": "lecture", "course_id": self.course_id, "limit": 100}
        found = self._call(client, "GET", "/api/search", params=params)
        page = found.json()
        while True:
            # Earlier runs left lectures with the same words: this run's hit may come later.
            hit = next((h for h in page["results"] if h["id"] == lecture_id), None)
            if hit is not None or not page["next"]:
                break
            page = client.get(page["next"]).json()
        if hit is None and stand_in:
            raise CommandError(f"the search found no segment of lecture {lecture_id}")
        if hit is None:
            self.stdout.write(f"\nNo hit: lecture {lecture_id} has another provider's words.")
            return
        self.stdout.write(
            f"\nThe search lands on lecture {lecture_id} ({hit['title']!r}) at "
            f"{hit['start']:g}-{hit['end']:g} s: {hit['snippet']}"
        )

    def _follow(
        self,
        client: httpx.Client,
        lecture_id: str,
        timeout: float,
        *,
        fields: tuple[str, str],
        until: Callable[[dict], bool],
        waiting: str,
    ) -> dict:
        """Poll the status route until ``until`` holds, printing each change of ``fields``."""
        path = f"/api/lectures/{lecture_id}/status"
        self.stdout.write(
            f'\n$ curl -H "Authorization: Bearer $TOKEN" {self.url}{path}'
            f"   (every 0.5 s until {waiting} ends)"
        )
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            status = client.get(path).json()
            shown = " ".join(f"{field}={status[field]}" for field in fields)
            if shown != last:
                self.stdout.write(f"  200 {shown}")
                last = shown
            if until(status):
                return status
            time.sleep(0.5)
        raise CommandError(
            f"{waiting} did not end within {timeout:.0f} s: is the worker running (make run "
            "starts one)?"
        )
