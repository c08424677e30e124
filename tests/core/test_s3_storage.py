"""The S3 storage backend against moto's server on loopback: connections per thread, made
from one boto3 session per process."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from tests.documents.helpers import s3_storage_config

THREADS = 8


@pytest.fixture
def s3_storage(settings, s3_server, s3_bucket):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": s3_storage_config(s3_server.endpoint_url, location=uuid.uuid4().hex),
    }
    return storages["default"]


def test_threads_make_their_connections_from_one_session_and_read_back_what_they_wrote(
    s3_storage,
):
    start = threading.Barrier(THREADS)

    def round_trip(n: int):
        start.wait(timeout=30)  # every thread makes its connection at the same moment
        key = s3_storage.save(f"thread-{n}.bin", ContentFile(f"bytes of thread {n}".encode()))
        with s3_storage.open(key, "rb") as handle:
            return handle.read(), s3_storage.connection, s3_storage._create_session()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        answers = list(pool.map(round_trip, range(THREADS)))

    assert [body for body, _, _ in answers] == [
        f"bytes of thread {n}".encode() for n in range(THREADS)
    ]
    assert len({id(connection) for _, connection, _ in answers}) == THREADS
    assert len({id(session) for _, _, session in answers}) == 1


def test_storages_with_other_credentials_get_a_session_of_their_own(s3_storage, s3_server):
    from core.s3_storage import S3Storage

    options = s3_storage_config(s3_server.endpoint_url)["OPTIONS"]
    same = S3Storage(**options)
    other = S3Storage(**{**options, "access_key": "other", "secret_key": "other-secret"})

    assert same._create_session() is s3_storage._create_session()
    assert other._create_session() is not s3_storage._create_session()


def test_a_forked_process_makes_its_own_session_and_connections(s3_storage):
    import os

    parents = (s3_storage._create_session(), s3_storage.connection, s3_storage.bucket)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: one line, then out without the parent's exit handlers
        try:
            os.close(read)
            childs = (s3_storage._create_session(), s3_storage.connection, s3_storage.bucket)
            fresh = all(c is not p for c, p in zip(childs, parents, strict=True))
            os.write(write, str(fresh).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as answer:
        made_its_own = answer.read()
    os.waitpid(pid, 0)

    assert made_its_own == "True"
