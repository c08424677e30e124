"""WSGI entry point (gunicorn studybuddy.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application
from django.db import connections

from studybuddy.startup import check_or_exit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studybuddy.settings.production")
check_or_exit()
application = get_wsgi_application()
# gunicorn loads this module once and forks its workers from it (deploy/web.py, --preload):
# a database connection opened while loading would be one socket shared by every worker.
connections.close_all()
