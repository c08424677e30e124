"""The storage tests of documents (uploads, routes, file responses, quota, consistency) run
twice: on the local disk and on S3 (moto's server on loopback). A module asks for it with
``pytestmark = pytest.mark.usefixtures("storage_backend")``; the text job's, the sandbox's and
the admin's tests use the local disk of ``_isolated_settings``."""

from __future__ import annotations

import uuid

import pytest

from tests.documents.helpers import s3_storage_config
from tests.factories import CourseFactory, EnrollmentFactory


@pytest.fixture(params=["local", "s3"])
def storage_backend(request, _isolated_settings, tmp_path) -> str:
    """The storage of the test: the temp-dir FileSystemStorage, or a fresh prefix on S3."""
    settings = _isolated_settings
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "upload-tmp")
    (tmp_path / "upload-tmp").mkdir()
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_server").endpoint_url
        request.getfixturevalue("s3_bucket")
        settings.STORAGE_BACKEND = "s3"
        settings.STORAGES = {
            **settings.STORAGES,
            "default": s3_storage_config(endpoint, location=f"test-{uuid.uuid4().hex}"),
        }
    return request.param


@pytest.fixture
def course(alice):
    """A course Alice is enrolled in."""
    return EnrollmentFactory(user=alice, course=CourseFactory()).course
