"""A real S3-compatible endpoint for the tests: moto's server, on loopback, in a child process.

Run as ``python -m tests.s3_server``: binds 127.0.0.1 on a free port, prints the port on
stdout, serves until killed. A separate process keeps moto's in-memory objects and threads
out of the test process (the memory tests measure that process alone).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class S3Server:
    """``S3Server().start()`` → ``.endpoint_url``; ``.stop()`` ends the process."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.endpoint_url = ""

    def start(self) -> S3Server:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.s3_server"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        port = self.process.stdout.readline().strip()
        if not port.isdigit():
            self.stop()
            raise RuntimeError("the moto S3 server did not start")
        self.endpoint_url = f"http://127.0.0.1:{port}"
        return self

    def client(self, **kwargs):
        """A boto3 S3 client of this server, with the credentials moto takes."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            **kwargs,
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def main() -> None:
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
