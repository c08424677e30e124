"""Settings shared by every environment, read from the environment (docs/configuration.md).

A malformed value stops the import here, with one line naming the variable
(``studybuddy.env``). Settings that must agree with each other are system checks, which
every process runs at start-up: ``core/checks.py`` and each app's ``checks.py``.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from corsheaders.defaults import default_headers
from cryptography.hazmat.primitives import serialization
from django.core.exceptions import ImproperlyConfigured

from studybuddy.env import env_bool, env_choice, env_int, env_list, env_rate, env_str, is_set

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

# --- Core -----------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", False)


def _dev_secret_key() -> str:
    """A key kept under var/ so dev sessions survive restarts; never used without DEBUG."""
    path = VAR_DIR / "dev-secret-key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


# Without DEBUG an empty key stops start-up (core.E001), and Django refuses to sign with it.
SECRET_KEY = env_str("SECRET_KEY") or (_dev_secret_key() if DEBUG else "")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1"])

INSTALLED_APPS = [
    "whitenoise.runserver_nostatic",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "core",
    "accounts",
    "courses",
    "lectures",
    # After lectures: its admin extends the lecture's admin page with the transcript.
    "transcripts",
    "documents",
    "search",
    "assistant",
]

MIDDLEWARE = [
    # First: every answer, whichever layer gives it, carries the request's id and is logged.
    "core.middleware.RequestLogMiddleware",
    # A view outside DRF whose database fails answers the JSON 503, as DRF's views do.
    "core.middleware.BackendUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "studybuddy.urls"
WSGI_APPLICATION = "studybuddy.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Database -------------------------------------------------------------------------


def _database() -> dict:
    if is_set("DATABASE_URL"):
        try:
            config = dj_database_url.parse(
                env_str("DATABASE_URL"), conn_max_age=60, conn_health_checks=True
            )
        except ValueError as exc:
            raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
        return config
    # The embedded default: WAL lets the web server and the worker write side by side,
    # IMMEDIATE transactions and a busy timeout make writers queue instead of failing.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": VAR_DIR / "studybuddy.sqlite3",
        "OPTIONS": {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }


DATABASES = {"default": _database()}

# --- Static files and storage ---------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media"))).resolve()

STORAGE_BACKEND = env_choice("STORAGE_BACKEND", "local", ("local", "s3"))
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")  # needed by s3 (core.E002)
DOCUMENTS_STORAGE_PREFIX = env_str("DOCUMENTS_STORAGE_PREFIX", "documents").strip("/")
AUDIO_STORAGE_PREFIX = env_str("AUDIO_STORAGE_PREFIX", "audio").strip("/")
# Uploaded recordings wait here for their job, which deletes them when it ends.
LECTURE_UPLOAD_STORAGE_PREFIX = env_str("LECTURE_UPLOAD_STORAGE_PREFIX", "lecture-uploads").strip(
    "/"
)


def _default_storage() -> dict:
    if STORAGE_BACKEND == "local":
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(MEDIA_ROOT)},
        }
    options = {
        "bucket_name": AWS_STORAGE_BUCKET_NAME,
        "region_name": env_str("AWS_S3_REGION_NAME") or None,
        "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
        "access_key": env_str("AWS_ACCESS_KEY_ID") or None,
        "secret_key": env_str("AWS_SECRET_ACCESS_KEY") or None,
        "default_acl": None,
        "file_overwrite": False,
        "querystring_auth": True,
        "querystring_expire": 300,
    }
    from core.s3 import s3_transfer_config

    options["transfer_config"] = s3_transfer_config()
    return {
        "BACKEND": "core.s3_storage.S3Storage",
        "OPTIONS": {key: value for key, value in options.items() if value is not None},
    }


STORAGES = {
    "default": _default_storage(),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- CORS and cookies -----------------------------------------------------------------

CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_ALLOW_CREDENTIALS = True
CORS_URLS_REGEX = r"^/api/.*$"
# File downloads: the SPA reads the name, the version and the range of what it fetched.
CORS_EXPOSE_HEADERS = ["Content-Disposition", "Content-Range", "Accept-Ranges", "ETag"]
# The file routes' conditional and range headers, which the SPA's player and PDF viewer send.
CORS_ALLOW_HEADERS = (
    *default_headers,
    "range",
    "if-range",
    "if-match",
    "if-none-match",
)

SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- Clerk authentication -------------------------------------------------------------


def _clerk_public_key() -> str:
    raw = env_str("CLERK_JWT_KEY")
    if not raw:
        return ""
    # Hosting dashboards often store a PEM on one line with literal "\n" escapes.
    pem = raw.replace("\\n", "\n")
    try:
        serialization.load_pem_public_key(pem.encode())
    except ValueError:
        raise ImproperlyConfigured("CLERK_JWT_KEY is not a PEM public key") from None
    return pem


CLERK_JWT_KEY = _clerk_public_key()
CLERK_JWKS_URL = env_str("CLERK_JWKS_URL")


def _check_jwks_url(url: str) -> None:
    # Keys fetched over plain HTTP could be swapped on the way: https, or loopback only.
    parts = urlsplit(url)
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise ImproperlyConfigured("CLERK_JWKS_URL must be an https URL")


if CLERK_JWKS_URL:
    _check_jwks_url(CLERK_JWKS_URL)
CLERK_ISSUER = env_str("CLERK_ISSUER")
CLERK_AUTHORIZED_PARTIES = env_list("CLERK_AUTHORIZED_PARTIES")
CLERK_LEEWAY_SECONDS = env_int("CLERK_LEEWAY_SECONDS", 5, minimum=0)
# How long a process reuses a user row it has read for a token's sub (0: never). Also the
# bound on how long a user deactivated in another process keeps access.
CLERK_USER_CACHE_SECONDS = env_int("CLERK_USER_CACHE_SECONDS", 5, minimum=0)
# How long a JWKS fetch may take, how often an unknown kid may trigger a re-fetch, how
# long an unknown kid is remembered as unknown, and how long a failed fetch is not retried.
CLERK_JWKS_TIMEOUT_SECONDS = 3.0
CLERK_JWKS_MIN_REFETCH_SECONDS = 30.0
CLERK_JWKS_NEGATIVE_CACHE_SECONDS = 60.0
CLERK_JWKS_FAILURE_BACKOFF_SECONDS = 5.0

_clerk_configured = bool(CLERK_JWT_KEY or CLERK_JWKS_URL)
# Only with DEBUG (accounts.E001).
DEV_AUTH_ENABLED = env_bool("DEV_AUTH_ENABLED", DEBUG and not _clerk_configured)
DEV_AUTH_KEY_FILE = VAR_DIR / "dev-jwt-key.pem"

ADMIN_USER_IDS = env_list("ADMIN_USER_IDS")
DEV_ROUTES_ENABLED = env_bool("DEV_ROUTES_ENABLED", False)

# --- Documents and lectures -----------------------------------------------------------

DOCUMENT_MAX_BYTES = env_int("DOCUMENT_MAX_BYTES", 50 * 1024 * 1024, minimum=1)
LECTURE_MAX_BYTES = env_int("LECTURE_MAX_BYTES", 4 * 1024**3, minimum=1)
LECTURE_UPLOAD_MAX_BYTES = env_int("LECTURE_UPLOAD_MAX_BYTES", 1024**3, minimum=1)
DOWNLOAD_TEMP_DIR = env_str("DOWNLOAD_TEMP_DIR") or None
PANOPTO_ALLOWED_HOSTS = [
    host.lower().strip(".")
    for host in env_list(
        "PANOPTO_ALLOWED_HOSTS",
        ["panopto.com", "panopto.eu", "panopto.ca", "panopto.com.au", "cloudfront.net"],
    )
]
PANOPTO_ALLOW_PRIVATE_NETWORKS = env_bool("PANOPTO_ALLOW_PRIVATE_NETWORKS", False)
# panoptodownloader needs the package installed (lectures.E002).
LECTURE_DOWNLOADER = env_choice("LECTURE_DOWNLOADER", "builtin", ("builtin", "panoptodownloader"))
# Network patience of the built-in downloader, and its retries of transient failures.
LECTURE_CONNECT_TIMEOUT_SECONDS = 10.0
LECTURE_READ_TIMEOUT_SECONDS = 60.0
LECTURE_DOWNLOAD_RETRIES = 4
LECTURE_RETRY_BACKOFF_SECONDS = 1.0
# A wall-clock bound on one download, retries included: a source that sends a byte every few
# seconds never trips the read timeout, and would hold a worker until the job's timeout
# (so it is less than Q_TIMEOUT_SECONDS: lectures.E001).
LECTURE_DOWNLOAD_TIMEOUT_SECONDS = env_int("LECTURE_DOWNLOAD_TIMEOUT_SECONDS", 1800, minimum=1)
# A lecture whose heartbeat is older than LECTURE_STALE_SECONDS belongs to a worker that
# died and may be taken over; a running job beats four times within that window.
LECTURE_STALE_SECONDS = env_int("LECTURE_STALE_SECONDS", 300, minimum=2)
LECTURE_HEARTBEAT_SECONDS = max(0.5, min(30.0, LECTURE_STALE_SECONDS / 4))
# Worker starts per lecture (a recording that kills its worker every time ends failed).
LECTURE_MAX_ATTEMPTS = env_int("LECTURE_MAX_ATTEMPTS", 3, minimum=1)


def _provider_base_url(prefix: str) -> str:
    """``{prefix}_BASE_URL``: an http(s) URL without credentials (those go in
    ``{prefix}_API_KEY``, which is never logged; a URL is)."""
    url = env_str(f"{prefix}_BASE_URL", "https://api.openai.com/v1").rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ImproperlyConfigured(f"{prefix}_BASE_URL must be an http(s) URL")
    if parts.username or parts.password:
        raise ImproperlyConfigured(f"{prefix}_BASE_URL must not carry credentials")
    return url


# --- Transcripts ----------------------------------------------------------------------

TRANSCRIPTION_BACKEND = env_choice("TRANSCRIPTION_BACKEND", "none", ("none", "openai"))
TRANSCRIPTION_BASE_URL = _provider_base_url("TRANSCRIPTION")
# Needed by openai unless its server is on loopback (transcripts.E001).
TRANSCRIPTION_API_KEY = env_str("TRANSCRIPTION_API_KEY")
TRANSCRIPTION_MODEL = env_str("TRANSCRIPTION_MODEL", "whisper-1")
TRANSCRIPTION_LANGUAGE = env_str("TRANSCRIPTION_LANGUAGE").lower()
TRANSCRIPTION_CHUNK_SECONDS = env_int("TRANSCRIPTION_CHUNK_SECONDS", 600, minimum=10)
TRANSCRIPTION_MAX_UPLOAD_BYTES = env_int(
    "TRANSCRIPTION_MAX_UPLOAD_BYTES", 24_000_000, minimum=65536
)
TRANSCRIPTION_CONCURRENCY = env_int("TRANSCRIPTION_CONCURRENCY", 2, minimum=1)
TRANSCRIPTION_TIMEOUT_SECONDS = env_int("TRANSCRIPTION_TIMEOUT_SECONDS", 300, minimum=1)
# Cues in one captions import (PUT /api/lectures/{id}/transcript): an hour of ordinary
# captions has 600-1,500.
CAPTIONS_MAX_CUES = env_int("CAPTIONS_MAX_CUES", 20_000, minimum=1)


def _check_transcription() -> None:
    if TRANSCRIPTION_LANGUAGE and not (
        len(TRANSCRIPTION_LANGUAGE) == 2
        and TRANSCRIPTION_LANGUAGE.isascii()
        and TRANSCRIPTION_LANGUAGE.isalpha()
    ):
        raise ImproperlyConfigured("TRANSCRIPTION_LANGUAGE must be an ISO-639-1 code such as en")


_check_transcription()
# Each chunk overlaps the next by this much (at most 10 s), so a word cut at a boundary is
# heard whole by one of the two requests; the merge keeps it once.
TRANSCRIPTION_OVERLAP_SECONDS = 5.0
# Transient provider errors (timeouts, dropped connections, 429, 5xx): retries per chunk
# and the first back-off (doubled each time, capped; a 429's Retry-After wins).
TRANSCRIPTION_RETRIES = 4
TRANSCRIPTION_RETRY_BACKOFF_SECONDS = 2.0
TRANSCRIPTION_RETRY_BACKOFF_CAP_SECONDS = 60.0
# A transcript answer past this is no transcript: the request fails instead of filling memory.
TRANSCRIPTION_MAX_ANSWER_BYTES = 4 * 1024 * 1024
# The transcript job's claim (core.jobs) keeps the audio job's clock.
TRANSCRIPTION_STALE_SECONDS = LECTURE_STALE_SECONDS
TRANSCRIPTION_HEARTBEAT_SECONDS = LECTURE_HEARTBEAT_SECONDS
TRANSCRIPTION_MAX_ATTEMPTS = 3

# --- Task queue (django-q2) -----------------------------------------------------------

TASK_BROKER = env_choice("TASK_BROKER", "orm", ("orm", "redis"))
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
# The broker re-delivers a task after `retry` seconds: a retry no longer than the timeout
# would hand a still-running job to a second worker (core.E003).
Q_TIMEOUT_SECONDS = env_int("Q_TIMEOUT_SECONDS", 3600, minimum=1)
Q_RETRY_SECONDS = env_int("Q_RETRY_SECONDS", 3900, minimum=2)
Q_WORKERS = env_int("Q_WORKERS", 2, minimum=1)
# A worker process whose peak RSS passed this ends after its job and the cluster starts a
# fresh one (django-q2's max_rss, in KiB), so one long recording's buffers do not stay in
# the worker for every later job. Measured in `make bench` (docs/performance.md): with
# 100 MiB the 60-minus-5-minute peak gap is 7.8-9.4 MB and a worker's RSS after each job
# 80 MB; without it the gap reaches 28.5 MB. A fresh worker costs about 0.3 s per job.
# 0 never recycles.
Q_MAX_RSS_BYTES = env_int("Q_MAX_RSS_BYTES", 100 * 1024 * 1024, minimum=0)

Q_CLUSTER = {
    "name": "studybuddy",
    "workers": Q_WORKERS,
    "timeout": Q_TIMEOUT_SECONDS,
    "retry": Q_RETRY_SECONDS,
    "max_attempts": 3,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 500,
    "label": "Task queue",
    # The ORM broker looks for new jobs this often (seconds) when its queue is empty
    # (django-q2's default, 0.2 s, is ~100 ms on average until a job starts). One indexed
    # query per poll: twenty a second per cluster. The Redis broker blocks on its list.
    "poll": 0.05,
}
if Q_MAX_RSS_BYTES:
    Q_CLUSTER["max_rss"] = Q_MAX_RSS_BYTES // 1024
if TASK_BROKER == "orm":
    Q_CLUSTER["orm"] = "default"
else:
    Q_CLUSTER["redis"] = REDIS_URL

# --- Clerk webhooks, per-user limits, rate limits, the cache --------------------------


def _clerk_webhook_secret() -> str:
    raw = env_str("CLERK_WEBHOOK_SECRET")
    if raw:
        # Clerk shows the secret as whsec_ followed by the base64 of the HMAC key.
        try:
            base64.b64decode(raw.removeprefix("whsec_"), validate=True)
        except binascii.Error:
            raise ImproperlyConfigured(
                "CLERK_WEBHOOK_SECRET is not a Svix signing secret (whsec_…)"
            ) from None
    return raw


# Without a secret the webhook route answers 404: nothing can be verified.
CLERK_WEBHOOK_SECRET = _clerk_webhook_secret()
CLERK_WEBHOOK_TOLERANCE_SECONDS = 300
CLERK_WEBHOOK_MAX_BYTES = 1024 * 1024
# How long a delivery id is remembered to answer a replay without acting twice; Svix
# retries a failing endpoint for about a day and a half.
CLERK_WEBHOOK_RETENTION_DAYS = env_int("CLERK_WEBHOOK_RETENTION_DAYS", 7, minimum=2)

USER_DOCUMENT_QUOTA_BYTES = env_int("USER_DOCUMENT_QUOTA_BYTES", 2 * 1024**3, minimum=1)
USER_ACTIVE_DOWNLOADS = env_int("USER_ACTIVE_DOWNLOADS", 5, minimum=1)

THROTTLE_RATES = {
    "lecture_requests": env_rate("RATE_LECTURE_REQUESTS", "60/hour"),
    "document_uploads": env_rate("RATE_DOCUMENT_UPLOADS", "120/hour"),
    "transcriptions": env_rate("RATE_TRANSCRIPTIONS", "20/hour"),
    "api": env_rate("RATE_API", "3000/hour"),
    "webhooks": env_rate("RATE_WEBHOOKS", "600/minute"),
    "assistant_messages": env_rate("RATE_ASSISTANT_MESSAGES", "60/hour"),
}
# Proxies in front of gunicorn that append the client's address to X-Forwarded-For (nginx
# is one): the address that many entries from the end is the client's, for the webhook
# route's limit. Entries ahead of it are whatever the client sent.
WEB_PROXY_COUNT = env_int("WEB_PROXY_COUNT", 1, minimum=0)

DATABASE_CACHE_TABLE = "studybuddy_cache"


def _caches(url: str) -> dict:
    """Django's cache, where the worker's django-q2 cluster keeps its statistics for
    ``qinfo``, ``qmonitor`` and the admin: shared by every process, so the database (the
    default, a table that ``migrate`` creates) or Redis, never per-process memory."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "db":
        return {
            "default": {
                "BACKEND": "django.core.cache.backends.db.DatabaseCache",
                "LOCATION": DATABASE_CACHE_TABLE,
                # Culled past this many rows; the cluster's statistics are a few rows, each
                # expiring within seconds.
                "OPTIONS": {"MAX_ENTRIES": 20_000},
            }
        }
    if scheme in ("redis", "rediss", "unix"):
        return {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": url,
                "KEY_PREFIX": "studybuddy",
            }
        }
    raise ImproperlyConfigured("CACHE_URL must be db:// (the database) or redis://…")


CACHE_URL = env_str("CACHE_URL", "db://")
CACHES = _caches(CACHE_URL)
# Where the rate limits count (core.ratelimits), a store of their own beside the cache: the
# database table core_rate_limit_bucket (db://, created by migrate) or the same Redis.
RATE_LIMIT_STORE = CACHE_URL

# --- Document text and search ---------------------------------------------------------

# A PDF's text is read in a child process with these bounds (documents/sandbox.py): pages
# beyond the first DOCUMENT_TEXT_MAX_PAGES are left out; the CPU time and the wall-clock
# time of the child are each bounded by the timeout, its address space by the memory bound.
DOCUMENT_TEXT_MAX_PAGES = env_int("DOCUMENT_TEXT_MAX_PAGES", 2000, minimum=1)
# Well inside the task time-out (documents.E001), so a slow PDF fails its document's text
# instead of having its worker killed.
DOCUMENT_TEXT_TIMEOUT_SECONDS = env_int(
    "DOCUMENT_TEXT_TIMEOUT_SECONDS", max(1, min(120, Q_TIMEOUT_SECONDS // 2)), minimum=1
)
DOCUMENT_TEXT_MEMORY_BYTES = env_int(
    "DOCUMENT_TEXT_MEMORY_BYTES", 512 * 1024 * 1024, minimum=64 * 1024 * 1024
)
# A page's text is cut here (PostgreSQL refuses a tsvector over 1 MB), and a document's
# text in all, so one PDF cannot fill the database or an answer of GET .../text.
DOCUMENT_TEXT_PAGE_MAX_CHARS = 100_000
DOCUMENT_TEXT_MAX_CHARS = 10_000_000
DOCUMENT_TEXT_STALE_SECONDS = 300
DOCUMENT_TEXT_HEARTBEAT_SECONDS = 30.0
DOCUMENT_TEXT_MAX_ATTEMPTS = 3
# The PostgreSQL text search configuration of the index and of queries (stemming, stop words).
SEARCH_CONFIG = env_str("SEARCH_CONFIG", "english")
if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]{0,62}", SEARCH_CONFIG):
    raise ImproperlyConfigured(
        f"SEARCH_CONFIG must name a text search configuration, not {SEARCH_CONFIG!r}"
    )

# --- Passages, embeddings, semantic search (search/) -------------------------------------

# `none`: word search only. `openai`: passages are embedded by an OpenAI-compatible
# POST {EMBEDDINGS_BASE_URL}/embeddings and searched by meaning too (needs pgvector).
EMBEDDINGS_BACKEND = env_choice("EMBEDDINGS_BACKEND", "none", ("none", "openai"))
EMBEDDINGS_BASE_URL = _provider_base_url("EMBEDDINGS")
# Needed by openai unless its server is on loopback (search.E001).
EMBEDDINGS_API_KEY = env_str("EMBEDDINGS_API_KEY")
EMBEDDINGS_MODEL = env_str("EMBEDDINGS_MODEL", "text-embedding-3-small")
# The size of the vectors stored; sent as `dimensions` to the models that take it (OpenAI's
# text-embedding-3-*). An answer of another size fails the job.
EMBEDDINGS_DIMENSIONS = env_int("EMBEDDINGS_DIMENSIONS", 1536, minimum=1)
EMBEDDINGS_BATCH_SIZE = env_int("EMBEDDINGS_BATCH_SIZE", 64, minimum=1)
EMBEDDINGS_TIMEOUT_SECONDS = env_int("EMBEDDINGS_TIMEOUT_SECONDS", 60, minimum=1)
if EMBEDDINGS_DIMENSIONS > 4000:
    # pgvector's HNSW index takes at most 4,000 dimensions (as halfvec).
    raise ImproperlyConfigured("EMBEDDINGS_DIMENSIONS must be at most 4000")
# Transient provider errors: as for transcription (retries, back-off, Retry-After).
EMBEDDINGS_RETRIES = 4
EMBEDDINGS_RETRY_BACKOFF_SECONDS = 2.0
EMBEDDINGS_RETRY_BACKOFF_CAP_SECONDS = 60.0
# 64 vectors of 3,072 floats as JSON text are about 4 MB.
EMBEDDINGS_MAX_ANSWER_BYTES = 16 * 1024 * 1024
EMBEDDINGS_STALE_SECONDS = 300
EMBEDDINGS_HEARTBEAT_SECONDS = 30.0
EMBEDDINGS_MAX_ATTEMPTS = 3

# --- Study assistant (assistant/) ---------------------------------------------------------

# `none`: the assistant's routes answer 409 assistant_disabled. `openai`: answers stream from
# an OpenAI-compatible POST {ASSISTANT_BASE_URL}/chat/completions with `stream: true`.
ASSISTANT_BACKEND = env_choice("ASSISTANT_BACKEND", "none", ("none", "openai"))
ASSISTANT_BASE_URL = _provider_base_url("ASSISTANT")
# Needed by openai unless its server is on loopback (assistant.E001).
ASSISTANT_API_KEY = env_str("ASSISTANT_API_KEY")
ASSISTANT_MODEL = env_str("ASSISTANT_MODEL", "gpt-4o-mini")
ASSISTANT_MAX_SOURCES = env_int("ASSISTANT_MAX_SOURCES", 8, minimum=1)
# Sources and earlier turns together, counted as 4 characters a token (assistant.prompt).
ASSISTANT_CONTEXT_TOKENS = env_int("ASSISTANT_CONTEXT_TOKENS", 12000, minimum=500)
ASSISTANT_MAX_ANSWER_TOKENS = env_int("ASSISTANT_MAX_ANSWER_TOKENS", 1024, minimum=1)
ASSISTANT_TIMEOUT_SECONDS = env_int("ASSISTANT_TIMEOUT_SECONDS", 120, minimum=1)
# The first token must come within this long (also the longest pause between two chunks).
ASSISTANT_FIRST_TOKEN_SECONDS = 30.0
# 429 and 5xx before the first token: at most 3 tries in all, Retry-After honoured.
ASSISTANT_TRIES = 3
ASSISTANT_RETRY_BACKOFF_SECONDS = 1.0
ASSISTANT_RETRY_BACKOFF_CAP_SECONDS = 8.0
# Bounds of a streamed answer: one SSE line, and the whole body.
ASSISTANT_MAX_LINE_BYTES = 64 * 1024
ASSISTANT_MAX_ANSWER_BYTES = 4 * 1024 * 1024
USER_ASSISTANT_DAILY_TOKENS = env_int("USER_ASSISTANT_DAILY_TOKENS", 200_000, minimum=1)

# --- REST framework and OpenAPI -------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.ClerkAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.BoundedJSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "core.exceptions.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["core.throttling.ScopedUserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": THROTTLE_RATES,
    "NUM_PROXIES": WEB_PROXY_COUNT,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "StudyBuddy API",
    "DESCRIPTION": (
        "Courses, Panopto lecture audio and PDF documents for the StudyBuddy app. "
        "Every route needs a Clerk session token: `Authorization: Bearer <token>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api",
    # Two choice sets have fields named "status": each enum gets its own name.
    "ENUM_NAME_OVERRIDES": {
        "LectureStatusEnum": "lectures.models.LectureStatus.choices",
        "TranscriptStatusEnum": "transcripts.models.TranscriptStatus.choices",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema_hooks.strip_trailing_slashes",
    ],
}

# --- Logging --------------------------------------------------------------------------

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
# text: readable lines; json: one JSON object per line (core/logging.py).
LOG_FORMAT = env_choice("LOG_FORMAT", "text", ("text", "json"))
_LOG_FORMATTERS = {"text": "core.logging.TextFormatter", "json": "core.logging.JsonFormatter"}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "core.logging.LogContextFilter"}},
    "formatters": {"service": {"()": _LOG_FORMATTERS[LOG_FORMAT]}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "service",
            "filters": ["context"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# --- Metrics (core/metrics.py) ------------------------------------------------------------

# GET /metrics answers only to this bearer token; unset, the route is 404.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# Where the processes started by deploy/web.py and deploy/worker.py record their metrics
# (one subdirectory each, emptied when its launcher starts); a scrape sums them all.
METRICS_DIR = Path(env_str("METRICS_DIR", str(VAR_DIR / "metrics"))).resolve()

# --- Web process (deploy/web.py: nginx in front of gunicorn) --------------------------------

WEB_CONCURRENCY = env_int("WEB_CONCURRENCY", 2, minimum=1)
# A streamed answer holds a thread while it is written; 32 threads x 2 workers keep 50
# answers streaming at once with GET /api/lectures p95 within 2 x its p95 with none
# (docs/architecture.md, `make bench`'s assistant section).
WEB_THREADS = env_int("WEB_THREADS", 32, minimum=1)
# nginx drops a client that takes longer than this to send its headers, or pauses longer
# than this between two reads of its body.
WEB_CLIENT_TIMEOUT_SECONDS = env_int("WEB_CLIENT_TIMEOUT_SECONDS", 10, minimum=1)
WEB_BEHIND_BUFFERING_PROXY = env_bool("WEB_BEHIND_BUFFERING_PROXY", False)
# The largest request body the service takes: nginx refuses more without buffering it.
WEB_MAX_BODY_BYTES = max(DOCUMENT_MAX_BYTES, LECTURE_UPLOAD_MAX_BYTES)
