"""Settings for the test suite: the real PostgreSQL, fast hashing, no manifest for static."""

import os

os.environ.setdefault("DATABASE_URL", "postgresql://postgres@localhost:5432/studybuddy")
os.environ.setdefault("SECRET_KEY", "insecure-test-only-secret-key-0123456789abcdefghijklmnop")

from studybuddy.env import is_set

from .base import *  # noqa: F403
from .base import DATABASES, STORAGES

STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Serve app static files (admin, Swagger UI) without a collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Test transactions roll back, so a cached user row could outlive its test; the tests of
# the cache turn it on themselves.
CLERK_USER_CACHE_SECONDS = 0
# The cache and the rate limits' counts: per-process memory, so API query counts stay what
# the views do. The tests of limits shared across processes give the server CACHE_URL, and
# the tests of each store name it in RATE_LIMIT_STORE.
if not is_set("CACHE_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    RATE_LIMIT_STORE = "memory://"
# Tests that commit end by emptying every table: the suite's backend does it with DELETE,
# not TRUNCATE (tests/postgresql/base.py says why).
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES = {"default": {**DATABASES["default"], "ENGINE": "tests.postgresql"}}
