"""Run the stand-in chat provider (``assistant.demo.fake_chat_provider``)."""

from django.core.management.base import BaseCommand, CommandError

from assistant.demo.fake_chat_provider import DEFAULT_PORT, serve


class Command(BaseCommand):
    help = (
        "Serve a stand-in for an OpenAI-compatible chat provider on 127.0.0.1, for trying the "
        "study assistant without internet: it is no model, and answers by quoting source 1, "
        "cited. Point the service at it with ASSISTANT_BACKEND=openai "
        f"ASSISTANT_BASE_URL=http://127.0.0.1:{DEFAULT_PORT}/v1. Stop it with Ctrl-C."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="(%(default)s)")

    def handle(self, *args, port: int, **options):
        """Serve until interrupted."""
        try:
            server = serve(port=port)
        except OSError as error:
            raise CommandError(f"cannot listen on 127.0.0.1:{port} ({error.strerror})") from None
        self.stdout.write(f"stand-in chat provider on http://127.0.0.1:{port}/v1 (Ctrl-C stops)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
