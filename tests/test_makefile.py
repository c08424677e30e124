"""`make run`'s first step: a taken port is named, with a free one to choose instead."""

from __future__ import annotations

import re
import socket
import subprocess
import sys

from tests.live_server import ROOT


def test_a_taken_port_is_named_with_the_next_free_port_as_the_suggestion():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            ["make", "--silent", "port-free", f"PORT={port}", f"PYTHON={sys.executable}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert result.returncode != 0
    hint = re.search(
        rf"^port {port} on 127\.0\.0\.1 is taken: stop what uses it, or choose another, "
        r"e\.g\. PORT=(\d+) make run$",
        result.stderr,
        re.MULTILINE,
    )
    assert hint, result.stderr
    suggested = int(hint.group(1))
    assert suggested > port
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", suggested)) != 0  # nothing answers there


def test_a_free_port_lets_make_run_go_on_silently():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = subprocess.run(
        ["make", "--silent", "port-free", f"PORT={port}", f"PYTHON={sys.executable}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
