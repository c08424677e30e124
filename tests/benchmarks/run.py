"""The benchmark run: real servers on loopback, each figure against a baseline of this run.

Starts, on a database of its own (``BENCH_DATABASE_URL``, default
``postgresql://postgres@localhost:5432/studybuddy_bench``, dropped and created afresh):

* a static file server for the generated recordings (a CDN stand-in);
* the web server exactly as the Procfile's ``web`` line starts it (``deploy/web.py``: nginx
  in front of gunicorn's ``gthread`` workers; with no nginx installed, set
  ``WEB_BEHIND_BUFFERING_PROXY=true`` to measure gunicorn alone), on
  ``tests.benchmarks.settings``: production settings, Clerk keys generated for the run, plus
  two baseline views;
* the worker as the Procfile's ``worker`` line starts it (``manage.py qcluster``).

Then measures the pipeline (MP4 and HLS, 5 and 60 minutes), the upload, the API, the
queue, one worker cluster against two (``scaleout``), search (``GET /api/search`` over
1.1 M transcript segments and 110 000 document pages) and the text extraction of a
300-page PDF, prints a table and writes
``bench-results.json``. Everything is bounded: fixed repetitions, fixed load durations,
time-outs on every wait.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from tests.benchmarks.latency import percentile, timed_gets

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "var" / "bench"
RESULTS = ROOT / "bench-results.json"
DEFAULT_DATABASE_URL = "postgresql://postgres@localhost:5432/studybuddy_bench"
# A Redis database number of its own, so other qclusters on this Redis never take our tasks.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"

PIPELINE_REPEATS = {5: 3, 60: 5}
UPLOAD_BYTES = 50_000_000
UPLOAD_REPEATS = 3
API_SECONDS = 3.0
API_ROUNDS = int(os.environ.get("BENCH_API_ROUNDS", "3"))
API_THREADS = 4
API_ROWS = 20
QUEUE_TASKS = 30
SEARCH_REQUESTS = 300
SEARCH_WARMUP = 30
SEARCH_P95_TARGET_MS = 100.0
TEXT_PAGES = 300
POLL_SECONDS = 0.05
JOB_TIMEOUT_SECONDS = 300.0

# Targets: a 60-minute MP4 at most 1.0 x curl + ffmpeg by hand and 1.3 x `ffmpeg -i URL`;
# HLS (one rendition) at most 1.3 x its by-hand baseline.
RATIO_TARGET = 1.3
MP4_RATIO_TARGET = 1.0
WORKER_RSS_TARGET_MB = 200.0
WORKER_RSS_SPREAD_MB = 20.0
UPLOAD_RSS_TARGET_MB = 30.0
MB = 1024 * 1024
# The provider stub's fixed answer delay (D) and the runs of the transcription.
TRANSCRIPTION_DELAY_SECONDS = 3.0
TRANSCRIPTION_REPEATS = 3
METRICS_TOKEN = "bench-metrics-" + "0" * 32
METRICS_SCRAPES = 50
METRICS_QUEUED = 10_000


# --------------------------------------------------------------------------- results


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    target: str | None = None
    met: bool | None = None


class Report:
    def __init__(self) -> None:
        self.figures: list[Figure] = []
        self.notes: dict[str, Any] = {}

    def add(
        self,
        name: str,
        value: float,
        unit: str,
        target: str | None = None,
        met: bool | None = None,
    ) -> None:
        figure = Figure(name, round(value, 3), unit, target, met)
        self.figures.append(figure)
        print(f"  {_row(figure)}", flush=True)

    def table(self) -> str:
        header = f"{'figure':<58} {'value':>10} {'unit':<7} {'target':<10} met"
        lines = [header, "-" * len(header)]
        lines += [_row(f) for f in self.figures]
        return "\n".join(lines)


def _row(figure: Figure) -> str:
    met = {True: "yes", False: "NO", None: ""}[figure.met]
    return f"{figure.name:<58} {figure.value:>10g} {figure.unit:<7} {figure.target or '':<10} {met}"


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = psutil.virtual_memory().total / 1024**3
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {memory:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


# --------------------------------------------------------------------------- processes


class Service:
    """A child process in its own session, with its output in a log file."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log_path = log
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()


class TreeSampler:
    """Samples the RSS of a process and all its descendants every ``interval`` seconds,
    keeping each process's peak.

    A peak between two samples would be missed (a 5-minute lecture's job takes ~0.3 s):
    where Linux allows it, each process's high-water mark (``VmHWM``) is reset when the
    sampler starts (``/proc/<pid>/clear_refs``, Linux 4.0+) and read at every sample, so
    the peak is the kernel's own, whatever the sampling interval.
    """

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.root = psutil.Process(pid)
        self.interval = interval
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.peaks: dict[int, int] = {}
        self.first: dict[int, int] = {}
        self.peak_total = 0

    def _sample(self) -> None:
        total = 0
        try:
            processes = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return
        with self._lock:
            for process in processes:
                try:
                    rss = max(process.memory_info().rss, _high_water_mark(process.pid))
                except psutil.Error:
                    continue
                total += rss
                self.first.setdefault(process.pid, rss)
                self.peaks[process.pid] = max(self.peaks.get(process.pid, 0), rss)
            self.peak_total = max(self.peak_total, total)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> TreeSampler:
        with contextlib.suppress(psutil.Error):
            for process in [self.root, *self.root.children(recursive=True)]:
                _reset_high_water_mark(process.pid)
        self._sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join()
        self._sample()

    def max_peak(self) -> int:
        return max(self.peaks.values(), default=0)

    def job_peak(self) -> int:
        """The peak of the process that ran the job: the one that grew the most. (The
        cluster's own process, idle at ~110 MB, can be larger than a short job's.)"""
        grown = max(self.peaks, key=lambda p: self.peaks[p] - self.first.get(p, 0), default=None)
        return 0 if grown is None else self.peaks[grown]

    def max_growth(self, pids: list[int] | None = None) -> int:
        chosen = pids if pids is not None else list(self.peaks)
        return max((self.peaks[p] - self.first[p] for p in chosen if p in self.first), default=0)


def _reset_high_water_mark(pid: int) -> None:
    """Reset the process's peak RSS to its current RSS; nothing where Linux does not allow it."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def _high_water_mark(pid: int) -> int:
    """The process's peak RSS since it started or since the last reset, in bytes (0 where
    ``/proc`` does not say)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def _procfile_command(kind: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{kind}:"):
            return line.split(":", 1)[1].strip()
    raise SystemExit(f"Procfile has no {kind} line")


def _timed(command: list[str], **kwargs: Any) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, **kwargs)
    return time.perf_counter() - started


def _wait_until(condition: Callable[[], Any], *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(POLL_SECONDS)
    raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")


# --------------------------------------------------------------------------- HTTP client


class Api:
    """The API as a client sees it, with a session token of the benchmark's user."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.token = token

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


# --------------------------------------------------------------------------- the run


class Bench:
    def __init__(self) -> None:
        self.report = Report()
        self.run_dir = WORK / "run"
        self.media_dir = WORK / "media"
        self.services: list[Service] = []
        self.env: dict[str, str] = {}
        self.ffmpeg = ""
        self._search_data: dict[str, object] | None = None
        self._provider: Any = None
        self._serving_embeddings = False

    # -- set-up

    def setup(self) -> None:
        shutil.rmtree(self.run_dir, ignore_errors=True)
        for name in ("media-root", "scratch", "logs", "baseline"):
            (self.run_dir / name).mkdir(parents=True)
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_pem = (
            self.signing_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        self.database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
        self.redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
        self.env = {
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            "HOME": os.environ.get("HOME", "/tmp"),
            "LANG": "C.UTF-8",
            "DJANGO_SETTINGS_MODULE": "tests.benchmarks.settings",
            "DEBUG": "false",
            "SECRET_KEY": "bench-only-" + uuid.uuid4().hex * 2,
            "DATABASE_URL": self.database_url,
            "CLERK_JWT_KEY": public_pem,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "MEDIA_ROOT": str(self.run_dir / "media-root"),
            "DOWNLOAD_TEMP_DIR": str(self.run_dir / "scratch"),
            "PANOPTO_ALLOWED_HOSTS": "127.0.0.1",
            "PANOPTO_ALLOW_PRIVATE_NETWORKS": "true",
            "TASK_BROKER": "orm",
            "REDIS_URL": self.redis_url,
            # The API load test polls far past a user's rate: measure the limit's cost
            # (one statement per request), not its refusals.
            "RATE_API": "100000000/hour",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            "METRICS_TOKEN": METRICS_TOKEN,
            "METRICS_DIR": str(self.run_dir / "metrics"),
        }
        # Where nginx is not installed, the caller's word lets gunicorn serve alone.
        if "WEB_BEHIND_BUFFERING_PROXY" in os.environ:
            self.env["WEB_BEHIND_BUFFERING_PROXY"] = os.environ["WEB_BEHIND_BUFFERING_PROXY"]
        os.environ.update(self.env)
        import django

        django.setup()
        import imageio_ffmpeg

        self.ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
        self._create_database()

    def _create_database(self) -> None:
        import psycopg
        from django.conf import settings
        from django.core.management import call_command

        name = settings.DATABASES["default"]["NAME"]
        if not re.fullmatch(r"[A-Za-z0-9_]+", name):
            raise SystemExit(f"unexpected database name {name!r}")
        admin_url = self.database_url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        call_command("migrate", verbosity=0)
        self.database_name = name

    def drop_database(self) -> None:
        import psycopg
        from django.db import connections

        connections.close_all()
        admin_url = self.database_url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database_name}" WITH (FORCE)')

    def token(self, sub: str) -> str:
        import jwt

        now = int(time.time())
        claims = {
            "sub": sub,
            "sid": f"sess_{uuid.uuid4().hex}",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "email": f"{sub}@example.com",
        }
        return jwt.encode(claims, self.signing_key, algorithm="RS256", headers={"kid": "bench"})

    def user_with_course(self, sub: str, code: str) -> tuple[Any, Any]:
        from accounts.services import user_get_or_create_from_clerk
        from courses.models import Course, Enrollment

        user = user_get_or_create_from_clerk(clerk_id=sub, email=f"{sub}@example.com")
        course = Course.objects.create(code=code, title=f"Benchmark {code}")
        Enrollment.objects.create(user=user, course=course)
        return user, course

    def start_services(self) -> None:
        logs = self.run_dir / "logs"
        files = Service(
            "files",
            [sys.executable, "-m", "tests.benchmarks.fileserver", str(self.media_dir)],
            self.env,
            logs / "files.log",
        )
        self.services.append(files)
        port = _wait_until(
            lambda: files.log_path.read_text().strip(), timeout=10, what="the file server"
        )
        self.files_base = f"http://127.0.0.1:{int(port)}"

        self.web = self.start_web()
        self.worker = self.start_worker("orm")

    def start_web(self, **extra_env: str) -> Service:
        self.web_port = _free_port()
        web_env = {**self.env, "WEB_HOST": "127.0.0.1", "PORT": str(self.web_port), **extra_env}
        web_env["WEB_CONCURRENCY"] = "2"
        web = Service(
            "web",
            ["bash", "-c", _procfile_command("web")],
            web_env,
            self.run_dir / "logs" / "web.log",
        )
        self.services.append(web)
        self.web_base = f"http://127.0.0.1:{self.web_port}"
        _wait_until(self._web_ready, timeout=60, what="gunicorn")
        return web

    def embeddings_provider(self, *, serve: bool = False) -> Any:
        """The test embedding server (``semantic.Provider``), started once; with ``serve``,
        the web server and the worker restarted to use it. The sections that use it run
        last: with embeddings on, a search is hybrid unless it says otherwise, and a
        rebuilt transcript queues an embedding job."""
        from tests.benchmarks.semantic import Provider

        if self._provider is None:
            self._provider = Provider()
        if serve and not self._serving_embeddings:
            for service in (self.web, self.worker):
                service.stop()
                self.services.remove(service)
            self._provider.prepare_database()
            self.web = self.start_web(**self._provider.env)
            self.worker = self.start_worker("orm", **self._provider.env)
            self._serving_embeddings = True
        return self._provider

    def start_worker(self, broker: str, log_name: str | None = None, **extra_env: str) -> Service:
        """A worker as the Procfile starts it, its output in ``logs/<log_name>.log``
        (``worker-<broker>`` by default)."""
        # BENCH_WORKER_ENV ("NAME=value NAME=value") sets the worker's environment on top,
        # for ablations: e.g. Q_MAX_RSS_BYTES=0.
        ablation = dict(
            item.split("=", 1) for item in os.environ.get("BENCH_WORKER_ENV", "").split()
        )
        env = {**self.env, "TASK_BROKER": broker, **extra_env, **ablation}
        name = log_name or f"worker-{broker}"
        worker = Service(
            name,
            ["bash", "-c", _procfile_command("worker")],
            env,
            self.run_dir / "logs" / f"{name}.log",
        )
        self.services.append(worker)
        # The cluster is ready when its worker processes exist.
        _wait_until(
            lambda: len(psutil.Process(worker.pid).children(recursive=True)) >= 3,
            timeout=60,
            what="qcluster",
        )
        time.sleep(1.0)
        return worker

    def _web_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.web_base}/healthz", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def stop_services(self) -> None:
        for service in reversed(self.services):
            service.stop()
        self.services.clear()
        if self._provider is not None:
            self._provider.stop()

    # -- transcription

    def transcription(self, lectures: dict) -> None:
        """A 60-minute lecture against a provider stub answering every request
        after a fixed delay D: request -> transcript completed within
        ceil(chunks / concurrency) x D + 1.2 x ffmpeg's time to encode the same chunks;
        the worker's memory under 200 MB."""
        from django.core.files.storage import default_storage

        from lectures.audio import extract_audio
        from lectures.models import Lecture
        from tests.transcripts.provider_stub import ProviderStub
        from transcripts.chunking import plan_chunks, stored_audio_duration
        from transcripts.models import Transcript
        from transcripts.services import transcript_enqueue

        audio = self.run_dir / "transcription-audio.m4a"
        extract_audio(lectures[60].mp4, audio)
        chunk_seconds, concurrency = 600, 2
        chunks = plan_chunks(stored_audio_duration(audio), chunk_seconds=chunk_seconds, overlap=5)
        stub = ProviderStub(api_key=None, decode=False).start()
        stub.delay = TRANSCRIPTION_DELAY_SECONDS
        stub.answer = lambda _received: {
            "text": "bench",
            "segments": [{"start": 0.0, "end": 1.0, "text": "bench"}],
        }
        self.worker.stop()
        self.services.remove(self.worker)
        self.worker = self.start_worker(
            "orm",
            TRANSCRIPTION_BACKEND="openai",
            TRANSCRIPTION_BASE_URL=stub.base_url,
            TRANSCRIPTION_CHUNK_SECONDS=str(chunk_seconds),
            TRANSCRIPTION_CONCURRENCY=str(concurrency),
        )
        _, course = self.user_with_course("user_bench_transcripts", "BENCH 400")
        work = self.run_dir / "baseline"
        base_times, job_times, peaks = [], [], []
        try:
            for _ in range(TRANSCRIPTION_REPEATS):
                shutil.rmtree(work, ignore_errors=True)
                work.mkdir()
                base_times.append(_ffmpeg_chunks(self.ffmpeg, audio, chunks, work))
                lecture = Lecture.objects.create(
                    course=course,
                    panopto_session_id=str(uuid.uuid4()),
                    panopto_url="https://bench.hosted.panopto.com/Panopto/Pages/Viewer.aspx",
                    stream_url="https://bench.invalid/x.mp4",
                    status=Lecture.Status.COMPLETED,
                    progress=100,
                )
                with audio.open("rb") as handle:
                    key = default_storage.save(f"audio/{lecture.id}.m4a", handle)
                Lecture.objects.filter(pk=lecture.pk).update(audio_storage_key=key)
                with TreeSampler(self.worker.pid) as sampler:
                    started = time.perf_counter()
                    Transcript.objects.create(lecture=lecture, status="queued")
                    transcript_enqueue(lecture_id=str(lecture.id))
                    final = _wait_until(
                        lambda lecture=lecture: Transcript.objects.filter(
                            lecture=lecture, status__in=("completed", "failed")
                        ).first(),
                        timeout=600,
                        what="the transcript",
                    )
                    job_times.append(time.perf_counter() - started)
                if final.status != "completed":
                    raise SystemExit(f"transcript failed: {final.error_message}")
                peaks.append(sampler.max_peak() / MB)
        finally:
            stub.stop()
        base, job = statistics.median(base_times), statistics.median(job_times)
        waits = math.ceil(len(chunks) / concurrency) * TRANSCRIPTION_DELAY_SECONDS
        bound = waits + 1.2 * base
        self.report.notes["transcription 60 min"] = {
            "chunks": len(chunks),
            "delay_seconds": TRANSCRIPTION_DELAY_SECONDS,
            "ffmpeg_seconds": base_times,
            "job_seconds": job_times,
            "worker_peak_rss_mb": peaks,
        }
        self.report.add("transcription 60 min: ffmpeg encoding the chunks by hand", base, "s")
        self.report.add(
            f"transcription 60 min: ceil({len(chunks)}/{concurrency}) x D + 1.2 x ffmpeg",
            bound,
            "s",
        )
        self.report.add("transcription 60 min: request -> completed", job, "s")
        self.report.add(
            "transcription 60 min: ratio to that bound", job / bound, "x", "<= 1", job <= bound
        )
        self.report.add(
            "worker peak RSS, 60 min transcription",
            max(peaks),
            "MB",
            f"< {WORKER_RSS_TARGET_MB:g}",
            max(peaks) < WORKER_RSS_TARGET_MB,
        )

    # -- pipeline

    def pipeline(self, lectures: dict) -> None:
        from tests.benchmarks.media import media_summary

        user, course = self.user_with_course("user_bench_pipeline", "BENCH 100")
        api = Api(self.web_base, self.token(user.clerk_id))
        for minutes, lecture in sorted(lectures.items()):
            self.report.notes[f"lecture_{minutes}min"] = {
                "mp4": media_summary(lecture.mp4),
                "hls_segments": len(lecture.hls_segments),
            }
        peaks: dict[int, float] = {}
        for kind in ("mp4", "hls"):
            for minutes, lecture in sorted(lectures.items()):
                repeats = PIPELINE_REPEATS[minutes]
                base_times, job_times, job_peaks, breakdowns = [], [], [], []
                direct_times: list[float] = []
                for _ in range(repeats):
                    base_times.append(self._baseline(kind, lecture))
                    if kind == "mp4":
                        direct_times.append(self._baseline_from_url(lecture))
                    seconds, peak, breakdown = self._pipeline_once(kind, lecture, api, course)
                    job_times.append(seconds)
                    job_peaks.append(peak)
                    breakdowns.append(breakdown)
                base, job = statistics.median(base_times), statistics.median(job_times)
                label = f"pipeline {kind.upper()} {minutes} min"
                self.report.notes[label] = {
                    "baseline_seconds": base_times,
                    "pipeline_seconds": job_times,
                    "worker_peak_rss_mb": job_peaks,
                    "stages": breakdowns,
                }
                self.report.add(f"{label}: baseline (curl + ffmpeg -c:a copy)", base, "s")
                self.report.add(f"{label}: request -> completed", job, "s")
                ratio = job / base
                target = minutes == 60
                bound = MP4_RATIO_TARGET if kind == "mp4" else RATIO_TARGET
                self.report.add(
                    f"{label}: ratio to baseline",
                    ratio,
                    "x",
                    f"<= {bound}" if target else None,
                    ratio <= bound if target else None,
                )
                if direct_times:
                    direct = statistics.median(direct_times)
                    self.report.notes[label]["ffmpeg_from_url_seconds"] = direct_times
                    self.report.add(f"{label}: ffmpeg -i URL -vn -c:a copy", direct, "s")
                    self.report.add(
                        f"{label}: ratio to ffmpeg -i URL",
                        job / direct,
                        "x",
                        f"<= {RATIO_TARGET}" if target else None,
                        job / direct <= RATIO_TARGET if target else None,
                    )
                if kind == "mp4":
                    peaks[minutes] = max(job_peaks)
                    self.report.add(
                        f"worker peak RSS, {minutes} min MP4",
                        peaks[minutes],
                        "MB",
                        f"< {WORKER_RSS_TARGET_MB:g}",
                        peaks[minutes] < WORKER_RSS_TARGET_MB,
                    )
                else:
                    self.report.add(
                        f"worker peak RSS, {minutes} min HLS",
                        max(job_peaks),
                        "MB",
                        f"< {WORKER_RSS_TARGET_MB:g}",
                        max(job_peaks) < WORKER_RSS_TARGET_MB,
                    )
            if kind == "mp4" and len(peaks) == 2:
                spread = abs(peaks[60] - peaks[5])
                self.report.add(
                    "worker peak RSS, 60 min minus 5 min",
                    spread,
                    "MB",
                    f"<= {WORKER_RSS_SPREAD_MB:g}",
                    spread <= WORKER_RSS_SPREAD_MB,
                )

    def _baseline(self, kind: str, lecture: Any) -> float:
        """By hand: ``curl -o`` the recording (HLS: the playlist and every segment, one
        curl, one connection), then ``ffmpeg -vn -c:a copy``."""
        work = self.run_dir / "baseline"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        relative = lecture.mp4.relative_to(self.media_dir).as_posix()
        started = time.perf_counter()
        if kind == "mp4":
            source = work / "source.mp4"
            subprocess.run(
                ["curl", "-sSf", "-o", str(source), f"{self.files_base}/{relative}"], check=True
            )
        else:
            prefix = lecture.hls_dir.relative_to(self.media_dir).as_posix()
            names = ["index.m3u8", *lecture.hls_segments]
            config = work / "curl.conf"
            config.write_text(
                "".join(
                    f'url = "{self.files_base}/{prefix}/{n}"\noutput = "{work / n}"\n'
                    for n in names
                )
            )
            subprocess.run(["curl", "-sSf", "-K", str(config)], check=True)
            source = work / "index.m3u8"
        subprocess.run(
            [
                self.ffmpeg,
                "-v",
                "error",
                "-y",
                "-i",
                str(source),
                "-vn",
                "-c:a",
                "copy",
                str(work / "audio.m4a"),
            ],
            check=True,
        )
        elapsed = time.perf_counter() - started
        shutil.rmtree(work, ignore_errors=True)
        return elapsed

    def renditions(self, lectures: dict) -> None:
        """A master playlist with three renditions of the 60-minute lecture (720p, 480p,
        360p, the same audio): bytes the job fetched against the smallest rendition's size,
        and its time against what every other downloader does, ``curl`` of the *highest*
        rendition plus ``ffmpeg -c:a copy``."""
        from tests.benchmarks.media import generate_renditions

        lecture = lectures[60]
        print("  renditions (reused from var/bench/media when present) ...", flush=True)
        ladder = generate_renditions(self.media_dir, lecture)
        user, course = self.user_with_course("user_bench_renditions", "BENCH 150")
        api = Api(self.web_base, self.token(user.clerk_id))
        smallest = ladder.bytes_of("r360")
        base_times, job_times, fetched, peaks = [], [], [], []
        for _ in range(PIPELINE_REPEATS[60]):
            base_times.append(self._baseline("hls", lecture))
            self._byte_counts(reset=True)
            seconds, peak, _stages = self._pipeline_once(
                "hls", lecture, api, course, path=ladder.master
            )
            job_times.append(seconds)
            peaks.append(peak)
            fetched.append(self._byte_counts(reset=True))
        totals = [sum(counts.values()) for counts in fetched]
        base, job = statistics.median(base_times), statistics.median(job_times)
        label = "HLS 3 renditions 60 min"
        self.report.notes[label] = {
            "rendition_bytes": {name: ladder.bytes_of(name) for name in ladder.directories},
            "bytes_fetched_per_directory": fetched,
            "baseline_seconds": base_times,
            "pipeline_seconds": job_times,
            "worker_peak_rss_mb": peaks,
        }
        bytes_ratio = statistics.median(totals) / smallest
        self.report.add(
            f"{label}: bytes fetched / smallest rendition",
            bytes_ratio,
            "x",
            "<= 1.1",
            bytes_ratio <= 1.1,
        )
        self.report.add(f"{label}: baseline (curl highest + ffmpeg -c:a copy)", base, "s")
        self.report.add(f"{label}: request -> completed", job, "s")
        ratio = job / base
        self.report.add(f"{label}: ratio to baseline", ratio, "x", "<= 1.0", ratio <= 1.0)

    def _byte_counts(self, *, reset: bool) -> dict[str, int]:
        query = "?reset=1" if reset else ""
        with urllib.request.urlopen(f"{self.files_base}/_bytes{query}", timeout=10) as answer:
            return json.loads(answer.read())

    def _baseline_from_url(self, lecture: Any) -> float:
        """What the fastest comparable system does: FFmpeg reading straight from the URL,
        one pass, no SSRF guard (``ffmpeg -i URL -vn -c:a copy``)."""
        work = self.run_dir / "baseline-url"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        url = f"{self.files_base}/{lecture.mp4.relative_to(self.media_dir).as_posix()}"
        started = time.perf_counter()
        subprocess.run(
            [
                self.ffmpeg,
                "-v",
                "error",
                "-y",
                "-i",
                url,
                "-vn",
                "-c:a",
                "copy",
                str(work / "audio.m4a"),
            ],
            check=True,
        )
        elapsed = time.perf_counter() - started
        shutil.rmtree(work, ignore_errors=True)
        return elapsed

    def _pipeline_once(
        self, kind: str, lecture: Any, api: Api, course: Any, path: Path | None = None
    ) -> tuple[float, float, dict]:
        if path is None:
            path = lecture.mp4 if kind == "mp4" else lecture.hls_playlist
        stream_url = f"{self.files_base}/{path.relative_to(self.media_dir).as_posix()}"
        session = uuid.uuid4()
        body = {
            "course_id": str(course.id),
            "panopto_url": f"https://bench.hosted.panopto.com/Panopto/Pages/Viewer.aspx?id={session}",
            "stream_url": stream_url,
            "title": f"{lecture.minutes} min {kind}",
        }
        with TreeSampler(self.worker.pid) as sampler:
            started = time.perf_counter()
            status, created = api.request("POST", "/api/lectures/download", body)
            if status != 202:
                raise SystemExit(f"download request answered {status}: {created}")
            lecture_id = created["id"]

            def finished() -> dict | None:
                _status, state = api.request("GET", f"/api/lectures/{lecture_id}/status")
                return state if state["status"] in ("completed", "failed") else None

            state = _wait_until(finished, timeout=JOB_TIMEOUT_SECONDS, what="the lecture job")
            elapsed = time.perf_counter() - started
        if state["status"] != "completed":
            raise SystemExit(f"lecture job failed: {state['error_message']}")
        return elapsed, sampler.job_peak() / MB, self._stages(lecture_id)

    def _stages(self, lecture_id: str) -> dict:
        """Seconds at each transition, from the worker's structured log lines."""
        stages: dict[str, float] = {}
        pattern = re.compile(rf"lecture={lecture_id} from=(\S+) to=(\S+).*?seconds=([\d.]+)")
        for line in self.worker.log_path.read_text().splitlines():
            match = pattern.search(line)
            if match:
                stages[f"{match.group(1)}->{match.group(2)}"] = float(match.group(3))
        return stages

    # -- upload

    def upload(self) -> None:
        user, course = self.user_with_course("user_bench_upload", "BENCH 200")
        token = self.token(user.clerk_id)
        work = self.run_dir / "upload"
        work.mkdir()

        def pdf(name: str, size: int) -> Path:
            path = work / name
            with path.open("wb") as out:
                out.write(b"%PDF-1.7\n")
                out.write(os.urandom(size - 9))
            return path

        def post(url: str, path: Path, auth: bool) -> float:
            command = ["curl", "-sS", "-o", str(work / "answer.json"), "-w", "%{http_code}"]
            command += ["-H", "Expect:"]
            if auth:
                command += ["-H", f"Authorization: Bearer {token}"]
            command += ["-F", f"course_id={course.id}", "-F", f"file=@{path};type=application/pdf"]
            started = time.perf_counter()
            answer = subprocess.run(
                [*command, url], check=True, capture_output=True, text=True
            ).stdout
            elapsed = time.perf_counter() - started
            if answer not in ("200", "201"):
                detail = (work / "answer.json").read_text()[:300]
                raise SystemExit(f"upload to {url} answered {answer}: {detail}")
            return elapsed

        upload_url = f"{self.web_base}/api/documents/upload"
        discard_url = f"{self.web_base}/bench/discard"
        # Warm both gunicorn workers up (imports, first connections) ahead of the measurement.
        for i in range(6):
            post(upload_url, pdf(f"warm-{i}.pdf", 200_000), True)
            post(discard_url, work / f"warm-{i}.pdf", False)
        web_workers = [p.pid for p in psutil.Process(self.web.pid).children(recursive=True)]
        base_times, upload_times, growths = [], [], []
        for i in range(UPLOAD_REPEATS):
            path = pdf(f"upload-{i}.pdf", UPLOAD_BYTES)
            base_times.append(post(discard_url, path, False))
            with TreeSampler(self.web.pid, interval=0.01) as sampler:
                upload_times.append(post(upload_url, path, True))
            growths.append(sampler.max_growth(web_workers) / MB)
            path.unlink()
        base, job = statistics.median(base_times), statistics.median(upload_times)
        self.report.notes["upload"] = {
            "baseline_seconds": base_times,
            "upload_seconds": upload_times,
            "rss_growth_mb": growths,
        }
        self.report.add("upload 50 MB PDF: baseline (curl to a discarding view)", base, "s")
        self.report.add("upload 50 MB PDF: POST /api/documents/upload", job, "s")
        self.report.add("upload 50 MB PDF: ratio to baseline", job / base, "x")
        growth = max(growths)
        self.report.add(
            "upload 50 MB PDF: web worker RSS growth (max of runs)",
            growth,
            "MB",
            f"< {UPLOAD_RSS_TARGET_MB:g}",
            growth < UPLOAD_RSS_TARGET_MB,
        )

    # -- API

    def api_throughput(self) -> None:
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from lectures.models import Lecture, LectureLink

        user, course = self.user_with_course("user_bench_api", "BENCH 300")
        token = self.token(user.clerk_id)
        lectures = []
        for i in range(API_ROWS):
            session = uuid.uuid4()
            lecture = Lecture.objects.create(
                course=course,
                panopto_session_id=str(session),
                panopto_url=f"https://bench.hosted.panopto.com/Panopto/Pages/Viewer.aspx?id={session}",
                stream_url="https://bench.cloudfront.net/x.mp4",
                title=f"Lecture {i}",
                status=Lecture.Status.COMPLETED,
                progress=100,
            )
            LectureLink.objects.create(user=user, lecture=lecture)
            lectures.append(lecture)

        # Queries per list request with 1 row and with 20: the same number, or N+1.
        client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}")
        counts = {}
        for limit in (1, API_ROWS):
            client.get(f"/api/lectures?limit={limit}")
            with CaptureQueriesContext(connection) as queries:
                answer = client.get(f"/api/lectures?limit={limit}")
            assert answer.status_code == 200, answer.content
            counts[limit] = len(queries)
        self.report.add("queries per GET /api/lectures, 1 row", counts[1], "queries")
        self.report.add(
            f"queries per GET /api/lectures, {API_ROWS} rows",
            counts[API_ROWS],
            "queries",
            "same as 1 row",
            counts[API_ROWS] == counts[1],
        )

        status_path = f"/api/lectures/{lectures[0].id}/status"
        etag = self._etag(status_path, token)
        # name: (url, token, extra headers, the status that counts)
        targets: dict[str, tuple[str, str | None, list[str], int]] = {
            "bare Django JSON view": (f"{self.web_base}/bench/json", None, [], 200),
            "GET /api/lectures/{id}/status": (f"{self.web_base}{status_path}", token, [], 200),
            "GET /api/lectures/{id}/status, If-None-Match: 304": (
                f"{self.web_base}{status_path}",
                token,
                [f"If-None-Match: {etag}"],
                304,
            ),
            f"GET /api/lectures ({API_ROWS} rows)": (
                f"{self.web_base}/api/lectures",
                token,
                [],
                200,
            ),
        }
        # Rounds interleave the endpoints so that a burst of other load on the machine
        # hits all of them alike; each endpoint's figure is its median round.
        rounds: dict[str, list[float]] = {name: [] for name in targets}
        for _round in range(API_ROUNDS):
            for name, (url, auth, headers, expect) in targets.items():
                command = [sys.executable, "-m", "tests.benchmarks.load", "--url", url]
                command += ["--threads", str(API_THREADS), "--seconds", str(API_SECONDS)]
                command += ["--expect", str(expect)]
                for header in headers:
                    command += ["--header", header]
                if auth:
                    command += ["--token", auth]
                out = subprocess.run(
                    command, check=True, capture_output=True, text=True, timeout=120, cwd=ROOT
                ).stdout
                result = json.loads(out)
                if result["errors"] or not result["requests"]:
                    raise SystemExit(f"load on {name}: {result}")
                rounds[name].append(result["rps"])
        self.report.notes["api_rps_rounds"] = rounds
        rps = {name: statistics.median(values) for name, values in rounds.items()}
        for name, value in rps.items():
            self.report.add(f"API {name}", value, "req/s")
        # Reported, no target: the routes are ordinary ORM, serializer and throttle code; of
        # the list, what matters is its constant number of queries (above).
        bare = rps["bare Django JSON view"]
        for name in list(targets)[1:]:
            self.report.add(f"API {name}: ratio to bare view", rps[name] / bare, "x")

    def _etag(self, path: str, token: str) -> str:
        """The ``ETag`` the server gives ``path`` for the load generator's requests."""
        request = urllib.request.Request(
            f"{self.web_base}{path}", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            etag = response.headers.get("ETag")
        if not etag:
            raise SystemExit(f"{path} answered without an ETag")
        return etag

    # -- metrics

    def metrics_scrape(self) -> None:
        """What one ``GET /metrics`` costs through the web process: with the series the
        run's requests and jobs recorded in every process's files, then with
        ``METRICS_QUEUED`` lectures waiting (the queue gauges are one aggregate query per
        kind of job)."""
        from lectures.models import Lecture

        user, course = self.user_with_course("user_bench_metrics", "BENCH 800")
        token = self.token(user.clerk_id)
        # Series of a few routes and statuses, in both gunicorn workers.
        routes = ["/api/courses", "/api/lectures", "/api/me", f"/api/courses/{course.id}"]
        timed_gets(self.web_base, token, routes, warmup=0, requests=200)

        def scrapes() -> Any:
            return timed_gets(
                self.web_base, METRICS_TOKEN, ["/metrics"], warmup=5, requests=METRICS_SCRAPES
            )

        idle = scrapes()
        Lecture.objects.bulk_create(
            Lecture(
                course=course, title=f"Queued {i}", stream_url="https://bench.cloudfront.net/q.mp4"
            )
            for i in range(METRICS_QUEUED)
        )
        try:
            queued = scrapes()
        finally:
            Lecture.objects.filter(course=course).delete()
        files = sorted((self.run_dir / "metrics").glob("*/*.db"))
        request = urllib.request.Request(
            f"{self.web_base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        samples = [line for line in body.splitlines() if line and not line.startswith(b"#")]
        self.report.notes["metrics_scrape"] = {
            "files": [f"{f.parent.name}/{f.name}" for f in files],
            "samples": len(samples),
            "bytes": len(body),
            "idle_ms": idle.summary(),
            "queued_ms": queued.summary(),
        }
        self.report.add("GET /metrics p50", idle.p50, "ms")
        self.report.add("GET /metrics p95", idle.p95, "ms")
        self.report.add(f"GET /metrics p50, {METRICS_QUEUED:,} lectures queued", queued.p50, "ms")
        self.report.add(f"GET /metrics p95, {METRICS_QUEUED:,} lectures queued", queued.p95, "ms")

    # -- queue

    def queue_latency(self) -> None:
        for broker in ("orm", "redis"):
            if broker != "orm":
                self.worker.stop()
                self.services.remove(self.worker)
                self.worker = self.start_worker(broker)
            env = {**self.env, "TASK_BROKER": broker}
            out = subprocess.run(
                [sys.executable, "-m", "tests.benchmarks.queue_latency", str(QUEUE_TASKS)],
                check=True,
                capture_output=True,
                text=True,
                env=env,
                cwd=ROOT,
                timeout=QUEUE_TASKS * 35,
            ).stdout
            latencies = sorted(json.loads(out.strip().splitlines()[-1]))
            self.report.notes[f"queue_{broker}_seconds"] = latencies
            median = statistics.median(latencies) * 1000
            p95 = percentile(latencies, 0.95) * 1000
            self.report.add(f"queue {broker} broker: enqueue -> start, median", median, "ms")
            self.report.add(f"queue {broker} broker: enqueue -> start, p95", p95, "ms")

    # -- search

    def search_data(self) -> dict[str, object]:
        """The search data set in the bench database (``search_data``), loaded once for the
        sections that search it."""
        if self._search_data is None:
            from django.conf import settings

            from tests.benchmarks import search_data

            print("  loading the data set (generated once into var/bench/search/) ...", flush=True)
            started = time.perf_counter()
            self._search_data = search_data.load(WORK / "search", settings.SEARCH_CONFIG)
            print(
                f"  loaded in {time.perf_counter() - started:.1f} s: {self._search_data}",
                flush=True,
            )
            self.report.notes["search_data"] = {
                "users": search_data.USERS,
                "courses_per_user": search_data.COURSES_PER_USER,
                "pages_per_user": search_data.DOCUMENTS_PER_USER * search_data.PAGES_PER_DOCUMENT,
                "lectures_per_user": search_data.LECTURES_PER_USER,
                **{
                    key: value
                    for key, value in self._search_data.items()
                    if key not in ("users", "courses")
                },
            }
        return self._search_data

    def search_latency(self) -> None:
        from urllib.parse import urlencode

        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from tests.benchmarks import search_data

        self.search_data()
        token = self.token(search_data.user_ids()[0])
        queries = search_data.queries()

        # Queries per request: the same for a query with a handful of hits and with thousands.
        client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}")
        counts, hits = {}, {}
        for q, params in queries:
            client.get("/api/search", {"q": q, **params})
            with CaptureQueriesContext(connection) as captured:
                answer = client.get("/api/search", {"q": q, **params})
            assert answer.status_code == 200, answer.content
            statements = search_statements(captured)
            counts[query_label(q, params)] = len(statements)
            hits[query_label(q, params)] = answer.json()["count"]
        self.report.notes["search_hits"] = hits
        self.report.notes["search_queries_per_request"] = counts
        self.report.notes["search_statements_of_the_last_request"] = [
            sql[:70] for sql in statements
        ]
        least, most = min(hits, key=hits.get), max(hits, key=hits.get)
        self.report.add(
            f"queries per GET /api/search, {hits[least]} hits", counts[least], "queries"
        )
        self.report.add(
            f"queries per GET /api/search, {hits[most]} hits",
            counts[most],
            "queries",
            "constant",
            len(set(counts.values())) == 1,
        )

        # Latency: one keep-alive connection, the queries in turn, through the web server.
        paths = {
            "/api/search?" + urlencode({"q": q, **params}): query_label(q, params)
            for q, params in queries
        }
        latencies = timed_gets(
            self.web_base, token, list(paths), warmup=SEARCH_WARMUP, requests=SEARCH_REQUESTS
        )
        self.report.notes["search_latency_ms"] = latencies.summary(paths.get)
        what = "search, 100 000 segments + 10 000 pages among 1.1 M + 110 000"
        self.report.add(f"{what}: p50", latencies.p50, "ms")
        self.report.add(
            f"{what}: p95",
            latencies.p95,
            "ms",
            f"< {SEARCH_P95_TARGET_MS:g}",
            latencies.p95 < SEARCH_P95_TARGET_MS,
        )

    # -- document text

    def text_extraction(self) -> None:
        from tests.documents.pdfs import text_pdf

        user, course = self.user_with_course("user_bench_text", "BENCH 500")
        token = self.token(user.clerk_id)
        work = self.run_dir / "text"
        work.mkdir()
        lines = [" ".join(f"word{(page * 31 + n) % 997}" for n in range(12)) for page in range(40)]
        pdf = work / "300-pages.pdf"
        pdf.write_bytes(
            text_pdf(*[f"Page {number}\n" + "\n".join(lines) for number in range(TEXT_PAGES)])
        )
        api = Api(self.web_base, token)
        # The worker's processes at the start: the job runs in one of them, the reader in a child.
        before = {p.pid for p in psutil.Process(self.worker.pid).children(recursive=True)}
        with TreeSampler(self.worker.pid, interval=0.01) as sampler:
            command = ["curl", "-sS", "-H", f"Authorization: Bearer {token}"]
            command += ["-F", f"course_id={course.id}", "-F", f"file=@{pdf};type=application/pdf"]
            started = time.perf_counter()
            answer = json.loads(
                subprocess.run(
                    [*command, f"{self.web_base}/api/documents/upload"],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
            )

            def completed() -> dict | None:
                _status, body = api.request("GET", f"/api/documents/{answer['id']}")
                return body if body["text_status"] != "pending" else None

            body = _wait_until(completed, timeout=JOB_TIMEOUT_SECONDS, what="the text job")
            elapsed = time.perf_counter() - started
        if body["text_status"] != "completed" or body["page_count"] != TEXT_PAGES:
            raise SystemExit(f"the text job ended {body}")
        log = (self.run_dir / "logs" / "worker-orm.log").read_text()
        found = re.search(
            rf"document={answer['id']} text from=extracting to=completed seconds=([0-9.]+)", log
        )
        job_seconds = float(found.group(1)) if found else elapsed
        workers = [pid for pid in sampler.peaks if pid in before]
        children = [pid for pid in sampler.peaks if pid not in before]
        worker_peak = max((sampler.peaks[pid] for pid in workers), default=0) / MB
        child_peak = max((sampler.peaks[pid] for pid in children), default=0) / MB
        self.report.notes["text_extraction"] = {
            "pdf_bytes": pdf.stat().st_size,
            "upload_to_completed_seconds": elapsed,
            "job_seconds": job_seconds,
        }
        self.report.add(
            f"text extraction, {TEXT_PAGES}-page PDF: pages/s (job)",
            TEXT_PAGES / job_seconds,
            "pages/s",
        )
        self.report.add(
            f"text extraction, {TEXT_PAGES}-page PDF: upload -> completed", elapsed, "s"
        )
        self.report.add("text extraction: worker peak RSS (largest process)", worker_peak, "MB")
        self.report.add("text extraction: reader child peak RSS", child_peak, "MB")


def query_label(q: str, params: dict[str, str]) -> str:
    """A search's name in the results: its words and its other parameters."""
    return " ".join([q, *(f"{key}={value}" for key, value in params.items())])


# The rate limit's store deletes its passed rows in one write in a hundred or so, at random
# (``core.ratelimits``): not part of the request's own statements.
_RATE_LIMIT_CLEANUP = re.compile(r'DELETE FROM "?core_rate_limit_bucket"?')


def search_statements(captured: Any) -> list[str]:
    """The statements of a request captured in process (``CaptureQueriesContext``), the
    rate limit's occasional clean-up left out."""
    return [
        query["sql"]
        for query in captured.captured_queries
        if not _RATE_LIMIT_CLEANUP.match(query["sql"])
    ]


def _ffmpeg_chunks(ffmpeg: str, audio: Path, chunks: list, out: Path) -> float:
    """By hand: ``ffmpeg`` encoding each chunk as the job does (mono 16 kHz Opus in Ogg at
    24 kbit/s), one after the other."""
    started = time.perf_counter()
    for chunk in chunks:
        subprocess.run(
            [
                ffmpeg, "-v", "error", "-y",
                "-ss", f"{chunk.start}", "-t", f"{chunk.duration}", "-i", str(audio),
                "-vn", "-ac", "1", "-ar", "16000",
                "-c:a", "libopus", "-b:a", "24k", "-application", "voip", "-vbr", "constrained",
                str(out / f"chunk-{chunk.index}.ogg"),
            ],
            check=True,
        )  # fmt: skip
    return time.perf_counter() - started


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    from tests.benchmarks.assistant import assistant_serving
    from tests.benchmarks.media import generate_lectures
    from tests.benchmarks.scaleout import scaleout

    started = time.perf_counter()
    bench = Bench()
    load_before = os.getloadavg()
    print(f"machine: {machine()}", flush=True)
    print(f"load average before: {load_before[0]:.2f} (1 min)", flush=True)
    if load_before[0] > (os.cpu_count() or 1) / 2:
        print("  note: the machine is busy; figures will be noisier than on an idle one")
    try:
        only = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))
        lectures: dict = {}
        # Only the pipeline plays the recordings; ``BENCH_ONLY=api`` starts in seconds.
        if not only or {"pipeline", "renditions", "transcription", "scaleout"} & only:
            print("generating lectures (reused from var/bench/media when present) ...", flush=True)
            t0 = time.perf_counter()
            lectures = generate_lectures(WORK / "media")
            print(f"  done in {time.perf_counter() - t0:.1f} s", flush=True)
        bench.setup()
        bench.start_services()
        from tests.benchmarks import semantic

        sections = (
            ("pipeline", lambda: bench.pipeline(lectures)),
            ("renditions", lambda: bench.renditions(lectures)),
            ("upload", bench.upload),
            ("api", bench.api_throughput),
            ("metrics", bench.metrics_scrape),
            ("search", bench.search_latency),
            ("text", bench.text_extraction),
            # Last: it replaces the ORM worker with a Redis one.
            ("queue", bench.queue_latency),
            # Its own clusters; the web process and an ORM worker as before, afterwards.
            ("scaleout", lambda: scaleout(bench, lectures)),
            ("transcription", lambda: bench.transcription(lectures)),
            ("assistant", lambda: assistant_serving(bench)),
            # Last: they turn embeddings on in the web server and the worker.
            ("retrieval", lambda: semantic.retrieval_quality(bench)),
            ("semantic", lambda: semantic.semantic_latency(bench)),
            ("embeddings", lambda: semantic.embedding_job(bench)),
        )
        for name, section in sections:
            if only and name not in only:
                continue
            print(f"{name} ...", flush=True)
            section()
    finally:
        bench.stop_services()
        if getattr(bench, "database_name", None):
            bench.drop_database()
    report = bench.report
    print()
    print(report.table())
    unmet = [f.name for f in report.figures if f.met is False]
    total = time.perf_counter() - started
    RESULTS.write_text(
        json.dumps(
            {
                "machine": machine(),
                "figures": [asdict(f) for f in report.figures],
                "load_average": {"before": load_before, "after": os.getloadavg()},
                "details": report.notes,
                "seconds": round(total, 1),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\n{len(report.figures)} figures in {total:.0f} s; written to {RESULTS.name}")
    print("targets not met: " + (", ".join(unmet) if unmet else "none"))
