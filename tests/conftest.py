from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django_q.models import Schedule
from rest_framework.test import APIClient

from core.ratelimits import MemoryStore, rate_limit_store
from tests.auth import ISSUER, SPA_ORIGIN, KeyPair, session_claims, sign
from tests.factories import UserFactory
from tests.jwks_server import JwksServer
from tests.lectures.media import MediaSet, generate_media_set
from tests.lectures.media_server import MediaServer
from tests.transcripts.provider_stub import API_KEY, ProviderStub
from tests.transcripts.speech import write_speech
from tests.workers import WORKER, made_once

# `make test` hands whole modules to its workers in collection order (`--dist loadfile`), so
# the longest modules go first: run last, one of them would keep a single worker busy while
# the others sit idle. Seconds of one worker, measured on 2 CPUs; a module not named here
# keeps its place after them.
LONGEST_MODULES = {
    "tests/e2e/test_transcripts.py": 70,
    "tests/transcripts/test_job.py": 40,
    "tests/e2e/test_outages.py": 40,
    "tests/fuzz/test_api_fuzz.py": 37,
    "tests/e2e/test_lecture_pipeline.py": 37,
    "tests/search/test_semantic.py": 36,
    "tests/test_settings.py": 22,
    "tests/e2e/test_demo.py": 22,
    "tests/e2e/test_faults.py": 20,
    "tests/search/test_vectors.py": 14,
    "tests/documents/test_upload.py": 14,
    "tests/e2e/test_worker.py": 13,
    "tests/search/test_search.py": 13,
    "tests/lectures/test_admin_browser.py": 13,
    "tests/transcripts/test_captions_limits.py": 12,
    "tests/search/test_embedding_job.py": 12,
    "tests/assistant/test_stream.py": 12,
    "tests/core/test_shared_rate_limits.py": 11,
    "tests/e2e/test_metrics.py": 11,
    "tests/lectures/test_audio.py": 11,
    "tests/security/test_proxy_limits.py": 10,
    "tests/e2e/test_logs.py": 10,
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest modules first, longest first; the rest in their collected order."""
    items.sort(key=lambda item: -LONGEST_MODULES.get(item.nodeid.split("::", 1)[0], 0))


@pytest.fixture(scope="session", autouse=True)
def _postgresql_only(django_db_setup, django_db_blocker):
    """The suite is meant for PostgreSQL (locks, constraints, races): refuse anything else."""
    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            pytest.exit(f"the tests need PostgreSQL, not {connection.vendor}", returncode=3)


@pytest.fixture(scope="session", autouse=True)
def migrated_schedules(
    request: pytest.FixtureRequest, _postgresql_only, django_db_blocker
) -> dict[str, tuple[str, int, int]]:
    """The django-q schedules that `migrate` created, read before any test runs: a
    transactional test empties every table when it ends. Function -> (type, minutes,
    repeats); empty when no collected test uses the database (pytest-django made none)."""
    if not any(_uses_database(item) for item in request.session.items):
        return {}
    with django_db_blocker.unblock():
        return {
            func: (schedule_type, minutes, repeats)
            for func, schedule_type, minutes, repeats in Schedule.objects.values_list(
                "func", "schedule_type", "minutes", "repeats"
            )
        }


def _uses_database(item: pytest.Item) -> bool:
    fixtures = set(getattr(item, "fixturenames", ()))
    return item.get_closest_marker("django_db") is not None or bool(
        fixtures & {"db", "transactional_db"}
    )


@pytest.fixture(scope="session")
def clerk_key() -> KeyPair:
    return KeyPair.generate("clerk-key-1")


@pytest.fixture(scope="session")
def other_key() -> KeyPair:
    return KeyPair.generate("clerk-key-2")


@pytest.fixture(autouse=True)
def _no_request_counted() -> None:
    """Each test starts with no request counted against a rate limit: the counts are per
    Clerk id, and the test users' ids (``user_alice``) recur from test to test. Only the
    test settings' store, this process' memory; a test that names another clears it."""
    store = rate_limit_store()
    if isinstance(store, MemoryStore):
        store.clear()


@pytest.fixture(autouse=True)
def _isolated_settings(settings, tmp_path: Path, clerk_key: KeyPair):
    """Each test: storage in a temp dir, the Clerk PEM key of the session, no dev auth."""
    media = tmp_path / "media"
    media.mkdir()
    settings.MEDIA_ROOT = media
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(media)},
        },
    }
    settings.CLERK_JWT_KEY = clerk_key.public_pem
    settings.CLERK_JWKS_URL = ""
    settings.CLERK_ISSUER = ISSUER
    settings.CLERK_AUTHORIZED_PARTIES = [SPA_ORIGIN]
    settings.CORS_ALLOWED_ORIGINS = []
    settings.DEV_AUTH_ENABLED = False
    settings.DEV_AUTH_KEY_FILE = tmp_path / "dev-jwt-key.pem"
    settings.ADMIN_USER_IDS = []
    return settings


@pytest.fixture
def token_for(clerk_key: KeyPair) -> Callable[..., str]:
    """``token_for(user_or_sub, **claims)``: a valid session token signed by the Clerk key."""

    def make(subject="user_alice", **claims) -> str:
        sub = subject if isinstance(subject, str) else subject.clerk_id
        return sign(session_claims(sub, **claims), clerk_key)

    return make


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for(token_for) -> Callable[..., APIClient]:
    """``client_for(user)``: an API client that sends the user's Bearer token."""

    def make(user) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
        return client

    return make


@pytest.fixture
def alice(db):
    return UserFactory(clerk_id="user_alice", username="alice", email="alice@example.com")


@pytest.fixture
def bob(db):
    return UserFactory(clerk_id="user_bob", username="bob", email="bob@example.com")


@pytest.fixture
def staff(db):
    return UserFactory(
        username="staff", email="staff@example.com", clerk_id=None, is_staff=True, is_superuser=True
    )


@pytest.fixture
def staff_client(staff) -> Client:
    """The admin's test client, logged in as staff."""
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def alice_client(client_for, alice) -> APIClient:
    return client_for(alice)


@pytest.fixture
def bob_client(client_for, bob) -> APIClient:
    return client_for(bob)


@pytest.fixture
def jwks_server():
    server = JwksServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> MediaSet:
    """Every test recording, generated once per run and shared by its workers: read only
    (1.6 s of CPU once, not once per worker)."""
    return made_once(_run_dir(tmp_path_factory), "media", generate_media_set)


@pytest.fixture(scope="session")
def media_server(media: MediaSet) -> Iterator[MediaServer]:
    """The media server on 127.0.0.1 (random port), serving ``media.root`` at /files/."""
    server = MediaServer(media.root).start()
    yield server
    server.stop()


@pytest.fixture
def lecture_settings(settings, tmp_path: Path):
    """The Django side of the pipeline pointed at the loopback media server."""
    settings.PANOPTO_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.PANOPTO_ALLOW_PRIVATE_NETWORKS = True
    settings.LECTURE_CONNECT_TIMEOUT_SECONDS = 2.0
    settings.LECTURE_READ_TIMEOUT_SECONDS = 2.0
    settings.LECTURE_DOWNLOAD_RETRIES = 2
    settings.LECTURE_RETRY_BACKOFF_SECONDS = 0.01
    settings.DOWNLOAD_TEMP_DIR = str(tmp_path / "scratch")
    (tmp_path / "scratch").mkdir()
    return settings


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server on 127.0.0.1 (a child process) for the session, started on demand."""
    from tests.s3_server import S3Server

    server = S3Server().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_bucket(s3_server) -> str:
    """The bucket of the S3 storage tests on moto's server, made once."""
    from tests.documents.helpers import S3_BUCKET

    s3_server.client().create_bucket(Bucket=S3_BUCKET)
    return S3_BUCKET


@pytest.fixture
def provider_stub() -> Iterator[ProviderStub]:
    """A transcription provider on 127.0.0.1 (random port) for one test."""
    stub = ProviderStub().start()
    yield stub
    stub.stop()


@pytest.fixture
def transcription_settings(settings, provider_stub: ProviderStub, tmp_path: Path):
    """Transcription on, pointed at the stub: 20-second chunks (5 s overlap), quick
    retries and timeouts."""
    settings.TRANSCRIPTION_BACKEND = "openai"
    settings.TRANSCRIPTION_BASE_URL = provider_stub.base_url
    settings.TRANSCRIPTION_API_KEY = API_KEY
    settings.TRANSCRIPTION_MODEL = "whisper-large-v3-turbo"
    settings.TRANSCRIPTION_LANGUAGE = ""
    settings.TRANSCRIPTION_CHUNK_SECONDS = 20
    settings.TRANSCRIPTION_MAX_UPLOAD_BYTES = 24_000_000
    settings.TRANSCRIPTION_CONCURRENCY = 2
    settings.TRANSCRIPTION_TIMEOUT_SECONDS = 5
    settings.TRANSCRIPTION_RETRIES = 3
    settings.TRANSCRIPTION_RETRY_BACKOFF_SECONDS = 0.01
    settings.TRANSCRIPTION_RETRY_BACKOFF_CAP_SECONDS = 0.05
    scratch = tmp_path / "transcript-scratch"
    scratch.mkdir(exist_ok=True)
    settings.DOWNLOAD_TEMP_DIR = str(scratch)
    return settings


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """130 s of lecture audio (AAC in M4A) whose every second says which second it is;
    written once per run and shared by its workers: read only (0.5 s of CPU)."""
    return made_once(
        _run_dir(tmp_path_factory),
        "speech",
        lambda directory: write_speech(directory / "speech.m4a", 130),
    )


def _run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of this run's, shared by its pytest-xdist workers (this session's own
    temporary directory when there are none)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if WORKER else base
