"""Settings for a developer's checkout: ``manage.py`` and ``make run`` use these.

The same environment variables apply; only ``DEBUG`` defaults to true here, which brings the
generated dev secret key and, with no Clerk key configured, dev-auth mode.
Deployments use ``studybuddy.settings.production`` instead.
"""

import os

os.environ.setdefault("DEBUG", "true")

from .base import *  # noqa: F403
