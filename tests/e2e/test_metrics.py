"""End to end: a lecture goes through the Procfile's worker process (``deploy/worker.py``,
a real qcluster) while the Procfile's web process (``deploy/web.py``, two gunicorn
workers) answers; one scrape of its ``/metrics`` then shows the lecture's job, its
duration and the bytes the media server sent, and the requests of both gunicorn workers."""

from __future__ import annotations

import httpx
import pytest

from courses.models import Enrollment
from tests.auth import ISSUER, session_claims, sign
from tests.e2e.conftest import wait_for
from tests.factories import CourseFactory
from tests.metrics import BEARER, TOKEN, parse
from tests.web_process import web_process

pytestmark = pytest.mark.e2e

VIEWER = (
    "https://rochester.hosted.panopto.com/Panopto/Pages/Viewer.aspx"
    "?id=6e7f8091-a2b3-4c4d-9e5f-60718293a4b5"
)


def test_after_a_lecture_the_metrics_show_its_job_its_duration_and_the_bytes_downloaded(
    start_worker, alice, clerk_key, media_server, settings, tmp_path
):
    course = CourseFactory()
    Enrollment.objects.create(user=alice, course=course)
    stream_url = media_server.file_url("lecture.mp4")
    media_server.reset_byte_counts()
    env = {
        "CLERK_JWT_KEY": clerk_key.public_pem,
        "CLERK_ISSUER": ISSUER,
        "PANOPTO_ALLOWED_HOSTS": "127.0.0.1",
        "PANOPTO_ALLOW_PRIVATE_NETWORKS": "true",
        "METRICS_TOKEN": TOKEN,
        "METRICS_DIR": str(tmp_path / "metrics"),
    }
    start_worker(command=("deploy/worker.py",), **env)
    web = web_process(
        tmp_path / "web.log",
        WEB_BEHIND_BUFFERING_PROXY="true",  # where nginx is not installed
        WEB_CONCURRENCY="2",
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        **env,
    )
    bearer = {"Authorization": f"Bearer {sign(session_claims('user_alice'), clerk_key)}"}
    with web as url, httpx.Client(base_url=url, timeout=30) as client:
        download = client.post(
            "/api/lectures/download",
            json={"course_id": str(course.id), "panopto_url": VIEWER, "stream_url": stream_url},
            headers=bearer,
        )
        assert download.status_code == 202, download.text
        lecture_id = download.json()["id"]
        polls = []

        def finished() -> dict | None:
            polls.append(client.get(f"/api/lectures/{lecture_id}/status", headers=bearer))
            status = polls[-1].json()
            return status if status["status"] in ("completed", "failed") else None

        final = wait_for(finished, timeout=120, what="the lecture")
        assert final["status"] == "completed", final["error_message"]

        # The job's run is counted as it ends, a moment after the row says completed.
        audio = {"kind": "audio", "outcome": "completed"}

        def scraped_with_the_job() -> httpx.Response | None:
            scraped = client.get("/metrics", headers={"Authorization": BEARER})
            assert scraped.status_code == 200
            counted = parse(scraped.text).value("studybuddy_jobs_total", **audio)
            return scraped if counted else None

        scraped = wait_for(scraped_with_the_job, timeout=30, what="the job's metrics")

    samples = parse(scraped.text)
    assert samples.value("studybuddy_jobs_total", **audio) == 1
    assert samples.value("studybuddy_job_duration_seconds_count", **audio) == 1
    assert samples.value("studybuddy_job_duration_seconds_sum", **audio) > 0
    served = media_server.bytes_sent_on(stream_url)
    assert served > 0
    assert samples.value("studybuddy_lecture_source_bytes_total") == served
    assert samples.value("studybuddy_jobs_queued", kind="audio") == 0
    download_route = {"route": "/api/lectures/download", "method": "POST", "status": "202"}
    assert samples.value("studybuddy_http_requests_total", **download_route) == 1
    status_route = {"route": "/api/lectures/{pk}/status", "method": "GET", "status": "200"}
    # Every poll, whichever gunicorn worker answered it.
    assert {poll.status_code for poll in polls} == {200}
    assert samples.value("studybuddy_http_requests_total", **status_route) == len(polls)
    assert lecture_id not in scraped.text
