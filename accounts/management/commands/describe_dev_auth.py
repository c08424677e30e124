"""Print how to sign in to this instance from a shell (used by `make run`)."""

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Print how to get a session token for this configuration and call the API."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the server's URL")

    def handle(self, *args, url: str, **options):
        url = url.rstrip("/")
        if not settings.DEV_AUTH_ENABLED:
            self.stdout.write(
                "Clerk sign-in: send the SPA's Clerk session token as "
                f"'Authorization: Bearer <token>'. API docs: {url}/api/docs"
            )
            return
        self.stdout.write(
            "\n".join(
                [
                    "Dev auth is on (DEBUG and no Clerk key configured). Get a token and call "
                    "the API:",
                    "  TOKEN=$(.venv/bin/python manage.py dev_token --user alice)",
                    f'  curl -H "Authorization: Bearer $TOKEN" {url}/api/courses',
                    f"Swagger UI: {url}/api/docs (Authorize, then paste the token)",
                    "",
                ]
            )
        )
