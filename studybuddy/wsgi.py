"""WSGI entry point (gunicorn studybuddy.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

from studybuddy.startup import check_or_exit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studybuddy.settings.production")
check_or_exit()
application = get_wsgi_application()
