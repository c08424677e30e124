"""``make bench``: the SPEC's performance claims (section 10), measured against baselines
in the same run, on loopback only. See ``tests/benchmarks/run.py``."""

from tests.benchmarks.run import main

main()
