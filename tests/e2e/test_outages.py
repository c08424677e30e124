"""The web process (``deploy/web.py``) while its parts fail under a steady load of reads and
PDF uploads: a gunicorn worker killed, the database restarted, Redis restarted. A client
sees answers it can act on (the JSON 503 with ``Retry-After``, or the degraded behaviour
the docs promise), no acknowledged upload is lost, and the service recovers by itself."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest
from django.conf import settings
from django.test import Client

from tests.auth import ISSUER, session_claims, sign
from tests.documents.pdfs import text_pdf
from tests.live_server import current_database_url
from tests.private_servers import PrivatePostgres, PrivateRedis
from tests.waiting import wait_until
from tests.web_process import NGINX_INSTALLED, WebProcess, serving

pytestmark = pytest.mark.e2e

# What nginx answers for a request whose gunicorn worker died under it.
NGINX_UNAVAILABLE = {
    "detail": "The service is unavailable; try again shortly.",
    "code": "unavailable",
}
DATABASE_UNAVAILABLE = {
    "detail": "The database is unavailable; try again shortly.",
    "code": "unavailable",
}


# The uploads' pages after their first: about 1 MB of PDF, so that a worker spends a while
# on each upload and a kill can land in the middle of one.
PAGES = [f"Page {n}: " + "finite automata and regular languages " * 40 for n in range(600)]


@dataclass(frozen=True)
class Answer:
    """One request of the load and what came back (status 0: the connection dropped)."""

    kind: str
    status: int
    body: bytes
    headers: httpx.Headers
    answered_at: float
    sent: bytes = b""

    def json(self) -> object:
        return httpx.Response(self.status, content=self.body, headers=self.headers).json()

    def is_json(self) -> bool:
        return self.headers.get("Content-Type", "").startswith("application/json")


class SteadyLoad:
    """Threads each sending, one after the other until stopped, a read of the course's
    documents, a read of the caller's courses and an upload of a new PDF of their own."""

    def __init__(self, url: str, token: str, course_id: str, *, threads: int = 3) -> None:
        self._url = url
        self._token = token
        self._course_id = course_id
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._answers: list[Answer] = []
        self._threads = [
            threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)
        ]

    def __enter__(self) -> SteadyLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def answers(self, *, since: float = 0.0) -> list[Answer]:
        with self._lock:
            return [a for a in self._answers if a.answered_at >= since]

    def count(self, *statuses: int, since: float = 0.0, kind: str | None = None) -> int:
        return sum(
            1
            for a in self.answers(since=since)
            if a.status in statuses and (kind is None or a.kind == kind)
        )

    def _run(self, number: int) -> None:
        headers = {"Authorization": f"Bearer {self._token}"}
        with httpx.Client(base_url=self._url, headers=headers, timeout=30) as client:
            sent = 0
            while not self._stop.is_set():
                self._send(client, "read", "GET", f"/api/documents?course_id={self._course_id}")
                self._send(client, "read", "GET", "/api/courses")
                sent += 1
                pdf = text_pdf(f"Notes {number}-{sent} {uuid.uuid4()}", *PAGES)
                self._send(
                    client,
                    "upload",
                    "POST",
                    "/api/documents/upload",
                    data={"course_id": self._course_id},
                    files={"file": (f"notes-{number}-{sent}.pdf", pdf, "application/pdf")},
                    sent=pdf,
                )

    def _send(
        self, client: httpx.Client, kind: str, method: str, path: str, sent: bytes = b"", **kw
    ) -> None:
        try:
            response = client.request(method, path, **kw)
            answer = Answer(
                kind, response.status_code, response.content, response.headers, 0.0, sent
            )
        except httpx.TransportError:
            answer = Answer(kind, 0, b"", httpx.Headers(), 0.0, sent)
        with self._lock:
            self._answers.append(Answer(**{**answer.__dict__, "answered_at": time.monotonic()}))


def _web_env(clerk_key, media: Path, **env: str) -> dict[str, str]:
    return {
        "CLERK_JWT_KEY": clerk_key.public_pem,
        "CLERK_ISSUER": ISSUER,
        "MEDIA_ROOT": str(media),
        "WEB_CONCURRENCY": "2",
        # The load is far past a student's rates: what is measured here is not the limit.
        "RATE_API": "1000000/hour",
        "RATE_DOCUMENT_UPLOADS": "1000000/hour",
        # Where nginx is not installed, gunicorn serves alone.
        **({} if NGINX_INSTALLED else {"WEB_BEHIND_BUFFERING_PROXY": "true"}),
        **env,
    }


def _new_course(url: str, token: str) -> str:
    response = httpx.post(
        f"{url}/api/courses",
        json={"code": f"FAULT {uuid.uuid4().hex[:6]}", "title": "Faults"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _answers_reads(url: str, token: str) -> bool:
    try:
        response = httpx.get(
            f"{url}/api/courses", headers={"Authorization": f"Bearer {token}"}, timeout=0.5
        )
    except httpx.TransportError:
        return False
    return response.status_code == 200


def _acknowledged_uploads_are_stored(url: str, token: str, answers: list[Answer]) -> None:
    """Every 201 of an upload: its document's file, read back, is the very bytes sent."""
    created = [a for a in answers if a.kind == "upload" and a.status == 201]
    assert created
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
        for answer in created:
            document = answer.json()
            stored = client.get(f"/api/documents/{document['id']}/file")
            assert stored.status_code == 200, (document, stored.text)
            assert stored.content == answer.sent, document


# --------------------------------------------------------------------------- a killed worker


def test_a_gunicorn_worker_killed_under_load_loses_no_acknowledged_upload(
    transactional_db, clerk_key, tmp_path
):
    token = sign(session_claims("user_faults"), clerk_key)
    with serving(tmp_path / "web.log", **_web_env(clerk_key, tmp_path / "media")) as web:
        course_id = _new_course(web.url, token)
        workers_before = {p.pid for p in web.gunicorn_workers()}
        with SteadyLoad(web.url, token, course_id) as load:
            wait_until(lambda: load.count(201) >= 6, timeout=30, message="uploads under way")

            victim = wait_until(
                lambda: _worker_reading_an_upload(web), timeout=30, message="an upload in a worker"
            )
            os.kill(victim, signal.SIGKILL)
            killed_at = time.monotonic()

            wait_until(
                lambda: _answers_reads(web.url, token),
                timeout=2,
                message="the service did not answer after the kill",
            )
            wait_until(
                lambda: _replaced(web, victim, len(workers_before)),
                timeout=60,
                message="gunicorn did not replace the killed worker",
            )
            wait_until(
                lambda: load.count(201, since=killed_at) >= 6,
                timeout=30,
                message="uploads after the kill",
            )
        answers = load.answers()
        _acknowledged_uploads_are_stored(web.url, token, answers)

    # A request the killed worker held is refused (nginx's JSON 503, or the connection
    # drops where gunicorn serves alone); every other is answered as usual.
    for answer in answers:
        if answer.status in (200, 201):
            continue
        if NGINX_INSTALLED:
            assert (answer.status, answer.json()) == (503, NGINX_UNAVAILABLE), answer
            assert int(answer.headers["Retry-After"]) > 0
        else:
            assert answer.status == 0, answer


def _worker_reading_an_upload(web: WebProcess) -> int | None:
    """A gunicorn worker in the middle of an upload: it holds the file's temporary copy
    open (Django's ``….upload.pdf``) until the request ends."""
    for worker in web.gunicorn_workers():
        try:
            if any(".upload" in Path(f.path).name for f in worker.open_files()):
                return worker.pid
        except psutil.Error:
            continue
    return None


def _replaced(web: WebProcess, killed: int, count: int) -> bool:
    pids = {p.pid for p in web.gunicorn_workers()}
    return killed not in pids and len(pids) == count


# --------------------------------------------------------------------------- the database


@pytest.fixture
def staff_cookie(staff) -> str:
    """The ``Cookie`` header of a staff member's admin session, stored in the test database
    (and copied with it by ``private_postgres``)."""
    client = Client()
    client.force_login(staff)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


@pytest.fixture
def private_postgres(transactional_db, staff_cookie) -> Iterator[PrivatePostgres]:
    """A PostgreSQL of this test's own, started, with the tables and rows of the test
    database (the staff's session among them): the one to restart. Copied from the
    database pytest-django migrated (``pg_dump`` into ``psql``, under a second; ``migrate``
    takes 5 to 10 s here)."""
    server = PrivatePostgres()
    try:
        server.start()
        server.create_database()
        server.copy_from(current_database_url())
        yield server
    finally:
        server.remove()


def test_a_database_restart_under_load_is_a_json_503_and_recovers_without_a_restart(
    private_postgres, staff_cookie, clerk_key, tmp_path
):
    token = sign(session_claims("user_faults"), clerk_key)
    env = _web_env(
        clerk_key,
        tmp_path / "media",
        DATABASE_URL=private_postgres.url,
        # Rate limits counted in the database too, as in production by default.
        CACHE_URL="db://",
        WEB_CONCURRENCY="1",
        METRICS_TOKEN="scrape-during-the-outage",
    )
    scraper = {"Authorization": "Bearer scrape-during-the-outage"}
    with serving(tmp_path / "web.log", **env) as web:
        course_id = _new_course(web.url, token)
        workers = {p.pid for p in web.gunicorn_workers()}
        admin = httpx.Client(base_url=web.url, headers={"Cookie": staff_cookie}, timeout=30)
        assert admin.get("/admin/").status_code == 200
        with SteadyLoad(web.url, token, course_id) as load:
            wait_until(lambda: load.count(201) >= 3, timeout=30, message="uploads under way")

            private_postgres.stop()
            stopped_at = time.monotonic()
            wait_until(
                lambda: (
                    load.count(503, since=stopped_at, kind="read") >= 3
                    and load.count(503, since=stopped_at, kind="upload") >= 1
                ),
                timeout=30,
                message="requests answered while the database is down",
            )
            admin_down = admin.get("/admin/")
            metrics_down = httpx.get(f"{web.url}/metrics", headers=scraper, timeout=30)
            private_postgres.start()
            started_at = time.monotonic()
            wait_until(
                lambda: (
                    load.count(200, since=started_at) >= 6
                    and load.count(201, since=started_at) >= 3
                ),
                timeout=30,
                message="reads and uploads after the database is back",
            )
        answers = load.answers()
        _acknowledged_uploads_are_stored(web.url, token, answers)
        assert {p.pid for p in web.gunicorn_workers()} == workers
        assert admin.get("/admin/").status_code == 200

    # The scrape still answers, with the outage's 503s, without the queues it cannot read.
    assert metrics_down.status_code == 200
    assert 'status="503"' in metrics_down.text
    assert "studybuddy_jobs_queued" not in metrics_down.text

    # The admin, outside DRF, answers as the API does.
    assert (admin_down.status_code, admin_down.json()) == (503, DATABASE_UNAVAILABLE)
    assert int(admin_down.headers["Retry-After"]) > 0

    unavailable = [a for a in answers if a.status not in (200, 201)]
    assert unavailable
    for answer in unavailable:
        assert answer.status == 503, answer
        assert answer.is_json(), answer
        assert answer.json() == DATABASE_UNAVAILABLE, answer
        assert int(answer.headers["Retry-After"]) > 0


# --------------------------------------------------------------------------- Redis


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    try:
        server.start()
        yield server
    finally:
        server.remove()


def test_a_redis_restart_under_load_leaves_the_api_answering_and_recovers(
    transactional_db, private_redis, clerk_key, tmp_path
):
    token = sign(session_claims("user_faults"), clerk_key)
    env = _web_env(
        clerk_key,
        tmp_path / "media",
        TASK_BROKER="redis",
        REDIS_URL=private_redis.url(1),
        CACHE_URL=private_redis.url(2),
    )
    with serving(tmp_path / "web.log", **env) as web:
        course_id = _new_course(web.url, token)
        with SteadyLoad(web.url, token, course_id) as load:
            wait_until(lambda: load.count(201) >= 3, timeout=30, message="uploads under way")

            private_redis.stop()
            stopped_at = time.monotonic()
            wait_until(
                lambda: _readiness(web.url) == (503, {"broker": "failed"}),
                timeout=10,
                message="readiness while Redis is down",
            )
            wait_until(
                lambda: (
                    load.count(200, since=stopped_at) >= 6
                    and load.count(201, since=stopped_at) >= 3
                ),
                timeout=30,
                message="reads and uploads while Redis is down",
            )
            private_redis.start()
            wait_until(
                lambda: _readiness(web.url) == (200, {}),
                timeout=10,
                message="readiness after Redis is back",
            )
        answers = load.answers()
        _acknowledged_uploads_are_stored(web.url, token, answers)
        queued = _queued_jobs(private_redis.url(1))
        upload = _upload(web.url, token, course_id)

        assert upload.status_code == 201, upload.text
        assert _queued_jobs(private_redis.url(1)) == queued + 1

    # Nothing is refused while Redis is down: the rate limits let requests through until
    # their store is back (docs/security.md), and an upload whose text job cannot be queued
    # is stored all the same, its text ``pending``.
    assert [a for a in answers if a.status not in (200, 201)] == []


def _queued_jobs(redis_url: str) -> int:
    """The jobs waiting in the Redis broker's list (django-q2's ``django_q:<cluster>:q``)."""
    import redis

    with redis.Redis.from_url(redis_url) as client:
        return client.llen(f"django_q:{settings.Q_CLUSTER['name']}:q")


def _upload(url: str, token: str, course_id: str) -> httpx.Response:
    pdf = text_pdf(f"After the outage {uuid.uuid4()}")
    return httpx.post(
        f"{url}/api/documents/upload",
        headers={"Authorization": f"Bearer {token}"},
        data={"course_id": course_id},
        files={"file": ("after.pdf", pdf, "application/pdf")},
        timeout=30,
    )


def _readiness(url: str) -> tuple[int, dict[str, str]]:
    """``/readyz``'s status and the checks that failed."""
    response = httpx.get(f"{url}/readyz", timeout=10)
    checks = response.json()["checks"]
    return response.status_code, {name: state for name, state in checks.items() if state != "ok"}
