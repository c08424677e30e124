"""The ``assistant`` section of ``make bench``: answers streamed through ``deploy/web.py`` from
the chat stub on loopback (a token every 20 ms), and what they cost the rest of the API.

For each thread count (``BENCH_ASSISTANT_THREADS``, default 4, 32 and 64 threads per
worker, 2 workers), a web process of its own:

* ``GET /api/lectures`` p50/p95 with no stream open;
* 50 answers asked at once, each 300 tokens long, and ``GET /api/lectures`` timed while
  they stream; every request's status (none may be refused); the web processes' peak RSS;
* request -> first ``data-source`` and the first ``text-delta``'s overhead over the stub's
  own first-token delay, one answer at a time (the latency a student sees) and under the 50.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from tests.assistant.chat_stub import API_KEY, ChatStub

STREAMS = 50
ANSWER_TOKENS = 300
TOKEN_DELAY_SECONDS = 0.02
SINGLE_ANSWERS = 20
QUIET_REQUESTS = 200
LOADED_REQUESTS = 200
FIRST_TOKEN_OVERHEAD_TARGET_MS = 150.0
LECTURES_RATIO_TARGET = 2.0
MB = 1024 * 1024


@dataclass
class Answer:
    status: int = 0
    first_source: float | None = None
    first_delta: float | None = None
    events: list[str] = field(default_factory=list)
    error: str | None = None


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _ask(port: int, token: str, conversation_id: str) -> Answer:
    """One question, its stream read to the end; times from the request, in seconds."""
    answer = Answer()
    body = json.dumps({"content": "What do mitochondria make for the cell?"})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    started = time.perf_counter()
    try:
        connection.request(
            "POST",
            f"/api/conversations/{conversation_id}/messages",
            body=body,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Accept": "text/event-stream",
            },
        )
        response = connection.getresponse()
        answer.status = response.status
        for raw in response:
            line = raw.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            kind = json.loads(line[len("data: ") :])["type"]
            answer.events.append(kind)
            elapsed = time.perf_counter() - started
            if kind == "data-source" and answer.first_source is None:
                answer.first_source = elapsed
            if kind == "text-delta" and answer.first_delta is None:
                answer.first_delta = elapsed
    except OSError as error:
        answer.error = repr(error)
    finally:
        connection.close()
    return answer


def _get(base: str, token: str, path: str) -> tuple[int, float]:
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError:
        status = 0
    return status, time.perf_counter() - started


def _lectures(base: str, token: str, count: int, until: threading.Event | None = None) -> dict:
    """``GET /api/lectures`` one after the other, ``count`` times or until ``until`` is set."""
    statuses, seconds = [], []
    for _ in range(count):
        if until is not None and until.is_set():
            break
        status, elapsed = _get(base, token, "/api/lectures")
        statuses.append(status)
        seconds.append(elapsed * 1000)
    return {"statuses": statuses, "ms": seconds}


class AssistantBench:
    def __init__(self, bench: Any) -> None:
        self.bench = bench
        self.report = bench.report

    def run(self) -> None:
        user, course = self.bench.user_with_course("user_bench_assistant", "BENCH 600")
        self._material(user, course)
        token = self.bench.token(user.clerk_id)
        stub = ChatStub(api_key=API_KEY).start()
        stub.first_delay = TOKEN_DELAY_SECONDS
        stub.token_delay = TOKEN_DELAY_SECONDS
        stub.tokens = [f"word{n} " for n in range(ANSWER_TOKENS - 1)] + ["[1]."]
        threads = [int(n) for n in os.environ.get("BENCH_ASSISTANT_THREADS", "4,32,64").split(",")]
        try:
            for count in threads:
                web, base = self._web(stub, count)
                try:
                    self._measure(web, base, token, course, count)
                finally:
                    web.stop()
                    self.bench.services.remove(web)
        finally:
            stub.stop()

    def _material(self, user: Any, course: Any) -> None:
        from lectures.models import Lecture, LectureLink
        from tests.documents import pdfs
        from tests.documents.text_helpers import extracted

        extracted(
            user,
            pdfs.text_pdf(
                "Mitochondria produce energy for the cell as ATP.",
                "Photosynthesis happens in chloroplasts of plant cells.",
            ),
            course=course,
            filename="cells.pdf",
        )
        for number in range(20):
            lecture = Lecture.objects.create(
                course=course,
                panopto_session_id=f"assistant-{number}",
                panopto_url="https://bench.hosted.panopto.com/Panopto/Pages/Viewer.aspx",
                stream_url="https://bench.invalid/x.mp4",
                title=f"Lecture {number}",
                status=Lecture.Status.COMPLETED,
                progress=100,
            )
            LectureLink.objects.create(user=user, lecture=lecture)

    def _web(self, stub: ChatStub, threads: int) -> tuple[Any, str]:
        from tests.benchmarks.run import Service, _free_port, _procfile_command, _wait_until

        port = _free_port()
        env = {
            **self.bench.env,
            "WEB_HOST": "127.0.0.1",
            "PORT": str(port),
            "WEB_CONCURRENCY": "2",
            "WEB_THREADS": str(threads),
            "ASSISTANT_BACKEND": "openai",
            "ASSISTANT_BASE_URL": stub.base_url,
            "ASSISTANT_API_KEY": API_KEY,
            "RATE_ASSISTANT_MESSAGES": "100000000/hour",
            "USER_ASSISTANT_DAILY_TOKENS": "1000000000",
            "EMBEDDINGS_BACKEND": "none",
        }
        log = self.bench.run_dir / "logs" / f"web-assistant-{threads}.log"
        web = Service(f"web-{threads}", ["bash", "-c", _procfile_command("web")], env, log)
        self.bench.services.append(web)
        base = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            return _get(base, "", "/healthz")[0] == 200

        _wait_until(ready, timeout=60, what=f"the web process with {threads} threads")
        return web, base

    def _conversations(self, base: str, token: str, course: Any, count: int) -> list[str]:
        from tests.benchmarks.run import Api

        api = Api(base, token)
        made = [
            api.request("POST", "/api/conversations", {"course_id": str(course.id)})
            for _ in range(count)
        ]
        if any(status != 201 for status, _ in made):
            raise SystemExit(f"could not start the conversations: {made[:3]}")
        return [body["id"] for _, body in made]

    def _measure(self, web: Any, base: str, token: str, course: Any, threads: int) -> None:
        from tests.benchmarks.run import TreeSampler

        port = int(base.rsplit(":", 1)[1])
        label = f"assistant, {threads} threads x 2 workers"
        conversations = self._conversations(base, token, course, STREAMS)
        _lectures(base, token, 20)  # warm both workers' connections
        quiet = _lectures(base, token, QUIET_REQUESTS)

        single = [_ask(port, token, conversations[n % STREAMS]) for n in range(SINGLE_ANSWERS)]

        answers: list[Answer] = [Answer() for _ in range(STREAMS)]
        done = threading.Event()

        def stream(number: int) -> None:
            answers[number] = _ask(port, token, conversations[number])

        with TreeSampler(web.pid, interval=0.05) as sampler:
            askers = [threading.Thread(target=stream, args=(n,)) for n in range(STREAMS)]
            for asker in askers:
                asker.start()
            # The measurement starts once the answers have had time to begin.
            time.sleep(0.5)
            loaded: dict = {}
            timer = threading.Thread(
                target=lambda: loaded.update(_lectures(base, token, LOADED_REQUESTS, done))
            )
            timer.start()
            for asker in askers:
                asker.join(timeout=600)
            done.set()
            timer.join(timeout=600)

        refused = sum(1 for a in answers if a.status != 200 or a.error or "finish" not in a.events)
        refused += sum(1 for status in quiet["statuses"] + loaded["statuses"] if status != 200)
        quiet_p50, quiet_p95 = (_percentile(quiet["ms"], q) for q in (0.5, 0.95))
        loaded_p50, loaded_p95 = (_percentile(loaded["ms"], q) for q in (0.5, 0.95))
        ratio = loaded_p95 / quiet_p95
        first_delay_ms = TOKEN_DELAY_SECONDS * 1000
        self.bench.report.notes[label] = {
            "answers_failed": [a.error or a.status for a in answers if a.status != 200 or a.error],
            "lectures_requests_while_streaming": len(loaded["ms"]),
            "first_delta_seconds": sorted(a.first_delta or 0 for a in answers),
        }
        self.report.add(f"{label}: GET /api/lectures p50, no stream", quiet_p50, "ms")
        self.report.add(f"{label}: GET /api/lectures p95, no stream", quiet_p95, "ms")
        self.report.add(f"{label}: GET /api/lectures p50, {STREAMS} streams", loaded_p50, "ms")
        self.report.add(f"{label}: GET /api/lectures p95, {STREAMS} streams", loaded_p95, "ms")
        self.report.add(
            f"{label}: lectures p95 with {STREAMS} streams / without",
            ratio,
            "x",
            f"<= {LECTURES_RATIO_TARGET:g}",
            ratio <= LECTURES_RATIO_TARGET,
        )
        self.report.add(f"{label}: requests refused or failed", refused, "", "0", refused == 0)
        self.report.add(
            f"{label}: web processes' peak RSS, {STREAMS} streams",
            sampler.peak_total / MB,
            "MB",
        )
        for what, chosen in (("one at a time", single), (f"{STREAMS} at once", answers)):
            sources = [a.first_source * 1000 for a in chosen if a.first_source is not None]
            overheads = [
                a.first_delta * 1000 - first_delay_ms for a in chosen if a.first_delta is not None
            ]
            if not sources or not overheads:
                raise SystemExit(f"{label}: no answer streamed ({what}); see the web log")
            self.report.add(
                f"{label}: request -> first data-source p50, {what}",
                statistics.median(sources),
                "ms",
            )
            self.report.add(
                f"{label}: request -> first data-source p95, {what}",
                _percentile(sources, 0.95),
                "ms",
            )
            overhead_p95 = _percentile(overheads, 0.95)
            self.report.add(
                f"{label}: first text-delta overhead p95, {what}",
                overhead_p95,
                "ms",
                f"< {FIRST_TOKEN_OVERHEAD_TARGET_MS:g}" if what == "one at a time" else None,
                overhead_p95 < FIRST_TOKEN_OVERHEAD_TARGET_MS if what == "one at a time" else None,
            )


def assistant_serving(bench: Any) -> None:
    """The ``assistant`` section (see the module's docstring)."""
    AssistantBench(bench).run()
