"""The ``scaleout`` section of ``make bench``: one worker cluster against two sharing the queue.

Twelve 5-minute lectures (the pipeline's generated MP4, each under a URL of its own on the
file server) are requested at once through the API, each by a student of its own (so no
per-user limit holds one back), and drained by one worker cluster, then by two clusters
sharing the queue, each started as the Procfile's ``worker`` line starts it
(``deploy/worker.py`` → ``manage.py qcluster``) with ``BENCH_SCALEOUT_WORKERS`` worker
processes (default 1: each cluster stands for a machine with one CPU's worth of workers).
First with the ORM broker, then with Redis (the web process restarted on it, as enqueuing
happens there). One and two clusters alternate, ``SCALEOUT_ROUNDS`` times each: the first
cluster keeps running and the second is started and stopped around its drains, so a burst
of other load on the machine hits both alike.

Per drain: request → every lecture ``completed`` (wall time), how busy the machine's CPUs
were (all processes, from ``/proc/stat``) and the file server's own CPU seconds. Every
lecture must be downloaded exactly once: the bytes the file server sent from its
directory against the file's size (one download reads each byte about once) and its row's
claim count (``attempt_count``); a lecture fetched twice is printed loudly and counted.
"""

from __future__ import annotations

import os
import re
import statistics
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

if TYPE_CHECKING:
    from tests.benchmarks.run import Bench

LECTURES = 12
SCALEOUT_ROUNDS = int(os.environ.get("BENCH_SCALEOUT_ROUNDS", "3"))
WORKERS_PER_CLUSTER = os.environ.get("BENCH_SCALEOUT_WORKERS", "1")
RATIO_TARGET = 0.65
DRAIN_TIMEOUT_SECONDS = 600.0
# One download sends each byte about once (the index at the end is read where it lies); two
# would send the file twice. Between the two is neither, and is reported as a second one.
TWICE_FROM = 1.5


def scaleout(bench: Bench, lectures: dict) -> None:
    source = lectures[5].mp4
    urls = _lecture_urls(bench, source)
    bench.worker.stop()
    bench.services.remove(bench.worker)
    twice: list[str] = []
    try:
        for broker in ("orm", "redis"):
            if broker != "orm":
                _restart_web(bench, TASK_BROKER=broker)
            _measure(bench, broker, urls, source.stat().st_size, twice)
    finally:
        _restart_web(bench)
        bench.worker = bench.start_worker("orm")
    bench.report.add(
        f"scaleout: lectures downloaded more than once (of {LECTURES} x {SCALEOUT_ROUNDS * 4})",
        len(twice),
        "lectures",
        "0",
        not twice,
    )


def _lecture_urls(bench: Bench, source: Path) -> list[str]:
    """The 5-minute MP4 under one directory per lecture (hard links: no copy), so the file
    server's bytes per directory are the bytes of one lecture."""
    urls = []
    for number in range(LECTURES):
        directory = bench.media_dir / "scaleout" / f"{number:02d}"
        directory.mkdir(parents=True, exist_ok=True)
        linked = directory / "lecture.mp4"
        if linked.exists() and linked.stat().st_ino != source.stat().st_ino:
            linked.unlink()
        if not linked.exists():
            os.link(source, linked)
        urls.append(f"{bench.files_base}/{linked.relative_to(bench.media_dir).as_posix()}")
    return urls


def _restart_web(bench: Bench, **env: str) -> None:
    bench.web.stop()
    bench.services.remove(bench.web)
    bench.web = bench.start_web(**env)


def _measure(bench: Bench, broker: str, urls: list[str], size: int, twice: list[str]) -> None:
    env = {"Q_WORKERS": WORKERS_PER_CLUSTER}
    shape = f"{WORKERS_PER_CLUSTER} worker{'s' if WORKERS_PER_CLUSTER != '1' else ''}"
    first = _start_cluster(bench, broker, f"scaleout-{broker}-first", env)
    times: dict[int, list[float]] = {1: [], 2: []}
    details: dict[int, list[dict]] = {1: [], 2: []}
    try:
        for round_number in range(SCALEOUT_ROUNDS):
            for clusters in (1, 2):
                second = None
                if clusters == 2:
                    name = f"scaleout-{broker}-second-{round_number}"
                    second = _start_cluster(bench, broker, name, env)
                running = [first] if second is None else [first, second]
                try:
                    drain = _drain(
                        bench, running, urls, size, f"{broker}-{round_number}-{clusters}"
                    )
                finally:
                    if second is not None:
                        second.stop()
                        bench.services.remove(second)
                times[clusters].append(drain["seconds"])
                details[clusters].append(drain)
                twice.extend(drain["downloaded_twice"])
    finally:
        first.stop()
        bench.services.remove(first)
    label = f"scaleout {broker} broker, {LECTURES} x 5 min"
    bench.report.notes[f"scaleout_{broker}"] = {
        "workers_per_cluster": int(WORKERS_PER_CLUSTER),
        "one_cluster": details[1],
        "two_clusters": details[2],
    }
    one, two = statistics.median(times[1]), statistics.median(times[2])
    bench.report.add(f"{label}: 1 cluster x {shape}, drained", one, "s")
    bench.report.add(f"{label}: 2 clusters x {shape}, drained", two, "s")
    bench.report.add(
        f"{label}: 2 clusters / 1 cluster",
        two / one,
        "x",
        f"<= {RATIO_TARGET}",
        two / one <= RATIO_TARGET,
    )
    for clusters in (1, 2):
        runs = details[clusters]
        what = f"{label}, {clusters} cluster{'s' if clusters > 1 else ''}"
        job = statistics.median(s for d in runs for s in d["job_seconds"])
        bench.report.add(f"{what}: one job, claim -> completed, median", job, "s")
        cpu = statistics.median(d["clusters_cpu_seconds"] for d in runs)
        cores = statistics.median(d["clusters_cpu_seconds"] / d["seconds"] for d in runs)
        busy = statistics.median(d["cpu_busy_percent"] for d in runs)
        bench.report.add(f"{what}: worker CPU per drain", cpu, "s")
        bench.report.add(f"{what}: CPUs the workers used", cores, "CPUs")
        bench.report.add(f"{what}: machine's CPUs busy", busy, "%")


def _start_cluster(bench: Bench, broker: str, name: str, env: dict[str, str]) -> Any:
    """A cluster that has said it runs (all its processes started), so that no drain
    begins with a cluster still starting."""
    from tests.benchmarks.run import _wait_until

    cluster = bench.start_worker(broker, log_name=name, **env)
    _wait_until(
        lambda: "running." in cluster.log_path.read_text(), timeout=60, what=f"cluster {name}"
    )
    return cluster


def _drain(
    bench: Bench, clusters: list[Any], urls: list[str], size: int, tag: str
) -> dict[str, Any]:
    """Twelve lectures requested at once, each by a student of its own; the time until all
    are completed, and how often each was fetched."""
    from lectures.models import Lecture
    from tests.benchmarks.run import Api, _wait_until

    students = []
    for number in range(LECTURES):
        user, course = bench.user_with_course(
            f"user_scaleout_{tag}_{number}", f"SCALE {tag} {number}"
        )
        students.append((Api(bench.web_base, bench.token(user.clerk_id)), course))
    bench._byte_counts(reset=True)
    files = psutil.Process(_file_server_pid(bench))
    files_cpu_before = sum(files.cpu_times()[:2])
    clusters_cpu_before = _tree_cpu_seconds(clusters)
    cpu_before = psutil.cpu_times()
    ids: list[str | None] = [None] * LECTURES
    errors: list[str] = []

    def request(number: int) -> None:
        api, course = students[number]
        session = uuid.uuid4()
        status, body = api.request(
            "POST",
            "/api/lectures/download",
            {
                "course_id": str(course.id),
                "panopto_url": f"https://bench.hosted.panopto.com/Panopto/Pages/Viewer.aspx?id={session}",
                "stream_url": urls[number],
                "title": f"Scale-out {number}",
            },
        )
        if status != 202:
            errors.append(f"{status} {body}")
        else:
            ids[number] = body["id"]

    threads = [threading.Thread(target=request, args=(n,)) for n in range(LECTURES)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"scale-out download requests refused: {errors}")
    finished = Lecture.objects.filter(id__in=ids, status__in=("completed", "failed"))
    _wait_until(
        lambda: finished.count() == LECTURES,
        timeout=DRAIN_TIMEOUT_SECONDS,
        what=f"{LECTURES} lectures ({tag})",
    )
    seconds = time.perf_counter() - started
    cpu = _busy_fraction(cpu_before, psutil.cpu_times())
    clusters_cpu = _tree_cpu_seconds(clusters) - clusters_cpu_before
    files_cpu = sum(files.cpu_times()[:2]) - files_cpu_before
    failed = list(Lecture.objects.filter(id__in=ids, status="failed").values_list("error_message"))
    if failed:
        raise SystemExit(f"scale-out lectures failed: {failed}")
    job_seconds = _job_seconds(clusters, ids)
    sent = bench._byte_counts(reset=True)
    claims = dict(Lecture.objects.filter(id__in=ids).values_list("id", "attempt_count"))
    per_lecture = []
    downloaded_twice = []
    for number, lecture_id in enumerate(ids):
        fetched = sent.get(f"scaleout/{number:02d}", 0) / size
        attempts = claims[uuid.UUID(lecture_id)]
        per_lecture.append({"bytes_over_size": round(fetched, 3), "attempt_count": attempts})
        if fetched >= TWICE_FROM or attempts != 1:
            downloaded_twice.append(lecture_id)
            print(
                f"  !!! DOUBLE DOWNLOAD: lecture {lecture_id} ({tag}) fetched "
                f"{fetched:.2f} x its size, claimed {attempts} times !!!",
                flush=True,
            )
    print(
        f"  {tag}: {seconds:.2f} s, jobs {statistics.median(job_seconds):.2f} s (median), "
        f"workers' CPU {clusters_cpu:.2f} s, machine's CPUs "
        f"{cpu * 100:.0f} % busy, bytes/size per lecture "
        f"{min(p['bytes_over_size'] for p in per_lecture):.3f}-"
        f"{max(p['bytes_over_size'] for p in per_lecture):.3f}",
        flush=True,
    )
    return {
        "seconds": seconds,
        "cpu_busy_percent": round(cpu * 100, 1),
        "job_seconds": job_seconds,
        "clusters_cpu_seconds": round(clusters_cpu, 3),
        "file_server_cpu_seconds": round(files_cpu, 3),
        "lectures": per_lecture,
        "downloaded_twice": downloaded_twice,
        "load_average": os.getloadavg()[0],
    }


def _job_seconds(clusters: list[Any], ids: list[str | None]) -> list[float]:
    """Each lecture's job, claim to ``completed``, from its line in the clusters' logs."""
    wanted = set(ids)
    found = []
    for cluster in clusters:
        for line in cluster.log_path.read_text().splitlines():
            match = _COMPLETED.search(line)
            if match and match.group(1) in wanted:
                found.append(float(match.group(2)))
    return found


_COMPLETED = re.compile(r" lecture=(\S+) from=extracting to=completed seconds=([\d.]+)")


def _tree_cpu_seconds(services: list[Any]) -> float:
    """CPU seconds of the clusters' processes, and of their children that ended (a worker
    replaced after a job, past ``Q_MAX_RSS_BYTES``, is counted in the process that waited
    for it)."""
    total = 0.0
    for service in services:
        root = psutil.Process(service.pid)
        for process in [root, *root.children(recursive=True)]:
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system + times.children_user + times.children_system
    return total


def _file_server_pid(bench: Bench) -> int:
    return next(s.pid for s in bench.services if s.name == "files")


def _busy_fraction(before: Any, after: Any) -> float:
    """The share of every CPU's time spent on anything but idling, between two readings
    (Linux counts a guest's time in ``user`` and ``nice`` too: left out once)."""

    def idle(times: Any) -> float:
        return times.idle + getattr(times, "iowait", 0.0)

    def total(times: Any) -> float:
        return sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)

    spent = total(after) - total(before)
    return 1 - (idle(after) - idle(before)) / spent if spent else 0.0
