"""A small HTTP load generator, run as its own process so it does not share a GIL with
anything it measures.

``python -m tests.benchmarks.load --url URL [--token T] [--header "Name: value"]...
[--expect STATUS] [--threads N] [--seconds S] [--max-requests N]`` GETs ``URL`` from N
threads for S seconds (after a short warm-up) and prints one JSON line: requests answered
with the expected status (200 unless told), other answers, seconds, requests per second.
Connections are reused when the server keeps them alive (gunicorn's sync workers do not).
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
from urllib.parse import urlsplit

WARM_UP_SECONDS = 1.0


class _Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ok = 0
        self.errors = 0


def _worker(
    host: str,
    port: int,
    path: str,
    headers: dict[str, str],
    start: float,
    stop: float,
    budget: int,
    expect: int,
    counter: _Counter,
) -> None:
    conn: http.client.HTTPConnection | None = None
    ok = errors = 0
    while True:
        now = time.monotonic()
        if now >= stop or ok + errors >= budget:
            break
        if conn is None:
            conn = http.client.HTTPConnection(host, port, timeout=10)
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            counted = now >= start
            if counted and response.status == expect:
                ok += 1
            elif counted:
                errors += 1
            if response.will_close:
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException):
            errors += 1
            if conn is not None:
                conn.close()
            conn = None
    if conn is not None:
        conn.close()
    with counter.lock:
        counter.ok += ok
        counter.errors += errors


def run(
    url: str,
    token: str | None,
    threads: int,
    seconds: float,
    max_requests: int,
    *,
    headers: dict[str, str] | None = None,
    expect: int = 200,
) -> dict:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    counter = _Counter()
    start = time.monotonic() + WARM_UP_SECONDS
    stop = start + seconds
    budget = max(1, max_requests // threads)
    pool = [
        threading.Thread(
            target=_worker,
            args=(parts.hostname, parts.port, path, headers, start, stop, budget, expect, counter),
        )
        for _ in range(threads)
    ]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = min(time.monotonic(), stop) - start
    return {
        "requests": counter.ok,
        "errors": counter.errors,
        "seconds": round(elapsed, 3),
        "rps": round(counter.ok / elapsed, 1) if elapsed > 0 else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token")
    parser.add_argument(
        "--header", action="append", default=[], help='"Name: value", sent with every request'
    )
    parser.add_argument("--expect", type=int, default=200, help="the status that counts")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--max-requests", type=int, default=50_000)
    args = parser.parse_args()
    headers = dict(_header(h) for h in args.header)
    result = run(
        args.url,
        args.token,
        args.threads,
        args.seconds,
        args.max_requests,
        headers=headers,
        expect=args.expect,
    )
    print(json.dumps(result))


def _header(text: str) -> tuple[str, str]:
    name, _, value = text.partition(":")
    return name.strip(), value.strip()


if __name__ == "__main__":
    main()
