"""ASGI entry point."""

import os

from django.core.asgi import get_asgi_application

from studybuddy.startup import load_settings_or_exit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studybuddy.settings.production")
load_settings_or_exit()
application = get_asgi_application()
