"""ASGI entry point."""

import os

from django.core.asgi import get_asgi_application

from studybuddy.startup import check_or_exit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studybuddy.settings.production")
check_or_exit()
application = get_asgi_application()
