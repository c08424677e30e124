"""Run the stand-in transcription provider (``lectures.demo.fake_transcription_provider``)."""

from django.core.management.base import BaseCommand, CommandError

from lectures.demo.fake_transcription_provider import DEFAULT_PORT, FakeTranscriptionProvider


class Command(BaseCommand):
    help = (
        "Serve a stand-in for an OpenAI-compatible transcription provider on 127.0.0.1, for "
        "trying the service without internet: it recognises no speech, and answers every "
        "audio file with text that says so, timed over the audio's duration. Point the "
        "service at it with TRANSCRIPTION_BACKEND=openai "
        f"TRANSCRIPTION_BASE_URL=http://127.0.0.1:{DEFAULT_PORT}/v1. Stop it with Ctrl-C."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--port",
            type=int,
            default=DEFAULT_PORT,
            help="the port on 127.0.0.1 (default: %(default)s; 0: any free port)",
        )

    def handle(self, *args, port: int, **options):
        try:
            provider = FakeTranscriptionProvider(port=port, log=self._log)
        except OSError as error:
            raise CommandError(
                f"cannot listen on 127.0.0.1:{port} ({error.strerror}); choose another --port"
            ) from None
        self.stdout.write(
            f"Fake transcription provider (a stand-in: no speech recognition) on "
            f"{provider.base_url}\n"
            "Start the service pointed at it:\n"
            f"  TRANSCRIPTION_BACKEND=openai TRANSCRIPTION_BASE_URL={provider.base_url} make run"
        )
        self.stdout.flush()
        try:
            provider.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            provider.stop()

    def _log(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()  # one line per request as it happens, into a pipe or a file too
