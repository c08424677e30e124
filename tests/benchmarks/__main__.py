"""``make bench``: the service's performance claims (docs/performance.md), measured against
baselines in the same run, on loopback only. See ``tests/benchmarks/run.py``."""

from tests.benchmarks.run import main

main()
