"""A PostgreSQL and a Redis of a test's own, on loopback, to stop and start under load.

The machine's PostgreSQL and Redis serve every test run at once; stopping them would fail
other runs. These start from nothing (``initdb``, ``redis-server --save ''``) in a
temporary directory, on a free port, and are gone when the test ends.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.live_server import free_port
from tests.waiting import wait_until

# initdb and the server refuse to run as root; as root, they run as this system user.
POSTGRES_USER = "postgres"


def _postgres_bindir() -> Path | None:
    """The directory of ``initdb`` and ``pg_ctl``: on the PATH, or Debian's newest
    ``/usr/lib/postgresql/<version>/bin``."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parent.parent.name),
    )
    return Path(candidates[-1]).parent if candidates else None


class PrivatePostgres:
    """``initdb`` into a temporary directory, then ``start()``/``stop()`` on one port.

    The directory is one of ``/tmp``'s own, not pytest's ``tmp_path``: as root, the server
    runs as ``postgres``, which cannot enter root's ``/tmp/pytest-of-root``."""

    def __init__(self) -> None:
        bindir = _postgres_bindir()
        if bindir is None:
            pytest.skip("no initdb here: PostgreSQL's server binaries are not installed")
        self._bindir = bindir
        self._as_user: list[str] = []
        self.root = Path(tempfile.mkdtemp(prefix="studybuddy-pg-"))
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            try:
                account = pwd.getpwnam(POSTGRES_USER)
            except KeyError:
                account = None
            if runuser is None or account is None:
                shutil.rmtree(self.root)
                pytest.skip(f"running as root without runuser or a {POSTGRES_USER!r} user")
            self._as_user = [runuser, "-u", POSTGRES_USER, "--"]
            # mkdtemp's directory is root's alone; the server's user owns this one.
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.log = self.root / "server.log"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/studybuddy"
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--no-sync")  # fmt: skip
        self._run("mkdir", str(self.sockets), binary=False)

    def _run(self, name: str, *args: str, binary: bool = True) -> None:
        program = str(self._bindir / name) if binary else name
        result = subprocess.run(
            [*self._as_user, program, *args], capture_output=True, text=True, cwd=self.root
        )
        if result.returncode:
            raise RuntimeError(f"{name} failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> None:
        # Durability is not under test: no fsync, so start and stop take a fraction of a second.
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.sockets} "
            "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
                  "-t", "60", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """``fast``: what a restart does to clients, each connection ended by the server."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def create_database(self) -> None:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                  "studybuddy")  # fmt: skip

    def copy_from(self, url: str) -> None:
        """The tables, sequences and rows of the database at ``url``, into this one's."""
        dump = subprocess.run(
            [str(self._bindir / "pg_dump"), "--no-owner", "--no-privileges", url],
            capture_output=True,
            check=True,
        )
        subprocess.run(
            [str(self._bindir / "psql"), "--quiet", "-v", "ON_ERROR_STOP=1", "-d", self.url],
            input=dump.stdout,
            capture_output=True,
            check=True,
        )

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    """``redis-server`` without persistence on one port, for ``start()``/``stop()``."""

    def __init__(self) -> None:
        self._binary = shutil.which("redis-server")
        if self._binary is None:
            pytest.skip("redis-server is not installed")
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="studybuddy-redis-"))
        self.log = self.root / "server.log"
        self._process: subprocess.Popen | None = None

    def url(self, database: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        import redis

        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [self._binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(self.root)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=1)

        def answers() -> bool:
            assert self._process.poll() is None, self.log.read_text()[-2000:]
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_until(answers, timeout=30, message="redis-server did not answer")
        client.close()

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=30)
        self._process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
