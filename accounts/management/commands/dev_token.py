"""Print a dev-auth session token (for trying the API without a Clerk account)."""

import re

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.tokens import mint_dev_token

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class Command(BaseCommand):
    help = (
        "Print a session token signed by the local dev key. The server accepts it only in "
        "dev-auth mode (DEV_AUTH_ENABLED, which needs DEBUG). "
        'Use: curl -H "Authorization: Bearer $(python manage.py dev_token)" ...'
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", default="dev", help="dev user name (default: dev)")
        parser.add_argument(
            "--ttl", type=int, default=3600, help="lifetime in seconds (default: 3600)"
        )

    def handle(self, *args, user: str, ttl: int, **options):
        if not _NAME.match(user):
            raise CommandError("--user takes 1-64 letters, digits, '.', '_' or '-'")
        if not 1 <= ttl <= 30 * 24 * 3600:
            raise CommandError("--ttl must be between 1 and 2592000 seconds")
        if not settings.DEV_AUTH_ENABLED:
            self.stderr.write(
                "warning: dev auth is off here (DEV_AUTH_ENABLED is false); a server with "
                "the same setting will refuse this token"
            )
        self.stdout.write(mint_dev_token(name=user, ttl_seconds=ttl))
