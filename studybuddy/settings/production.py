"""Production settings: the base configuration plus HTTPS hardening.

Deployments set ``DJANGO_SETTINGS_MODULE=studybuddy.settings.production``; the service is
expected behind a proxy that terminates TLS and sets ``X-Forwarded-Proto``.
"""

from django.core.exceptions import ImproperlyConfigured

from studybuddy.env import env_bool, env_int

from .base import *  # noqa: F403
from .base import DEBUG

if DEBUG:
    raise ImproperlyConfigured("studybuddy.settings.production needs DEBUG=false")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
# Load balancers probe over plain HTTP, and Prometheus may scrape a web process on the
# private network so too (a redirect would come after its token was sent anyway).
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$", r"^metrics/?$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if not SECURE_HSTS_PRELOAD:
    # Preloading is a deliberate, hard-to-undo choice of the domain's owner, not a default.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
