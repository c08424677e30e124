"""End to end: a recording uploaded through the HTTP API, processed by a real qcluster worker
that shares only the database and an S3 bucket (moto's server on loopback) with the web
side: no file system in common."""

from __future__ import annotations

import uuid

import pytest

from core.storage import storage_walk
from courses.models import Enrollment
from tests.documents.helpers import BOUNDARY, multipart, s3_storage_config
from tests.e2e.conftest import wait_for
from tests.factories import CourseFactory
from tests.lectures.media import audio_packet_payloads

pytestmark = pytest.mark.e2e


@pytest.fixture
def shared_bucket(s3_server, settings) -> str:
    """A fresh bucket that the test (the web side) and the worker both use as storage."""
    bucket = f"uploads-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(Bucket=bucket)
    settings.STORAGE_BACKEND = "s3"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": s3_storage_config(s3_server.endpoint_url, bucket=bucket),
    }
    return bucket


def test_an_uploaded_recording_is_processed_by_the_worker_through_shared_storage_only(
    start_worker, alice_client, alice, media, s3_server, shared_bucket, settings, tmp_path
):
    start_worker(
        STORAGE_BACKEND="s3",
        AWS_STORAGE_BUCKET_NAME=shared_bucket,
        AWS_S3_ENDPOINT_URL=s3_server.endpoint_url,
        AWS_S3_REGION_NAME="us-east-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        MEDIA_ROOT=str(tmp_path / "worker-has-no-media-root"),
    )
    course = CourseFactory()
    Enrollment.objects.create(user=alice, course=course)

    response = alice_client.generic(
        "POST",
        "/api/lectures/upload",
        multipart(
            {"course_id": str(course.id)},
            [("file", "lecture.mp4", media.h264_aac.read_bytes(), "video/mp4")],
        ),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )
    assert response.status_code == 202, response.content
    lecture_id = response.json()["id"]
    assert len(list(storage_walk(settings.LECTURE_UPLOAD_STORAGE_PREFIX))) == 1

    final = wait_for(
        lambda: (
            (s := alice_client.get(f"/api/lectures/{lecture_id}/status").json())["status"]
            in ("completed", "failed")
            and s
        ),
        timeout=120,
        what="the uploaded lecture to finish",
    )

    assert final["status"] == "completed", final["error_message"]
    audio = alice_client.get(f"/api/lectures/{lecture_id}/audio")
    assert audio.status_code == 200
    (tmp_path / "served.m4a").write_bytes(b"".join(audio.streaming_content))
    assert audio_packet_payloads(tmp_path / "served.m4a") == audio_packet_payloads(media.h264_aac)
    # The job deletes the staged file once the lecture is final.
    wait_for(
        lambda: not list(storage_walk(settings.LECTURE_UPLOAD_STORAGE_PREFIX)),
        timeout=10,
        what="the staged upload to be deleted",
    )
