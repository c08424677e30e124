"""Settings of the servers that ``make bench`` starts: production's, plus bench-only routes.

The product runs as it would be deployed (``DEBUG`` false, Clerk keys, production
middleware); only the URLconf differs, by two baseline views that production never routes.
Plain HTTP on loopback: no redirect to HTTPS.
"""

import os

os.environ.setdefault("SECURE_SSL_REDIRECT", "false")

from studybuddy.settings.production import *  # noqa: F403
from studybuddy.settings.production import STORAGES

ROOT_URLCONF = "tests.benchmarks.urls"
# The API serves no static files; skip the manifest that collectstatic would build.
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
