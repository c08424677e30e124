# StudyBuddy backend. `make run` and `make test` work from a fresh clone (Python 3.11+).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
INSTALLED := $(VENV)/.installed
DEV_INSTALLED := $(VENV)/.installed-dev

.PHONY: install install-dev run port-free demo test bench lint pgvector

# Python caches compiled modules (and pytest its rewritten test modules) under __pycache__;
# an environment that turns that off has every process compile them again: each test
# worker spends 8 s of CPU starting and collecting instead of 3.6 s.
unexport PYTHONDONTWRITEBYTECODE

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(INSTALLED): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(INSTALLED)

# What tests, lint and benchmarks add on top of the service's own requirements, and the
# optional PanoptoDownloader package for its adapter's tests: not on the package index, so
# from the archive beside the repository, without its 2021 pins (its dependencies, at
# current versions, are in requirements-dev.txt). Without the archive those tests skip.
PANOPTODOWNLOADER_ARCHIVE ?= ../shared/vendor/PanoptoDownloader-1.4.3.tar.gz
$(DEV_INSTALLED): requirements-dev.txt $(INSTALLED)
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@if [ -f "$(PANOPTODOWNLOADER_ARCHIVE)" ]; then \
	  $(BIN)/pip install --quiet --no-deps "$(PANOPTODOWNLOADER_ARCHIVE)"; \
	else \
	  echo "$(PANOPTODOWNLOADER_ARCHIVE) not found: the PanoptoDownloader tests will be skipped"; \
	fi
	touch $(DEV_INSTALLED)

install: $(INSTALLED)
install-dev: $(DEV_INSTALLED)

## Web server and one worker on http://127.0.0.1:$(PORT) (SQLite under var/ without DATABASE_URL).
PORT ?= 8000
run: export DJANGO_SETTINGS_MODULE = studybuddy.settings.local
run: export PATH := $(BIN):$(PATH)
run: port-free install
	python manage.py migrate --noinput
	python manage.py collectstatic --noinput --verbosity 0
	@python manage.py describe_dev_auth --url http://127.0.0.1:$(PORT)
	WEB_HOST=127.0.0.1 WEB_CONCURRENCY=2 honcho start --port $(PORT) web worker

# Before anything starts: one line, not a server that fails to bind and a killed worker.
# The port it suggests is the next one nothing answers on, after the one the user chose.
port-free:
	@$(PYTHON) -c 'import socket, sys; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", $(PORT)))' 2>/dev/null \
	  || { $(PYTHON) -c 'import socket; free = next(p for p in range($(PORT) + 1, 65536) if socket.socket().connect_ex(("127.0.0.1", p))); print(f"port $(PORT) on 127.0.0.1 is taken: stop what uses it, or choose another, e.g. PORT={free} make run")' >&2; exit 1; }

## Try a lecture, from its download to a search hit, against `make run` started with
## PANOPTO_ALLOWED_HOSTS=127.0.0.1 PANOPTO_ALLOW_PRIVATE_NETWORKS=true TRANSCRIPTION_BACKEND=openai
## TRANSCRIPTION_BASE_URL=http://127.0.0.1:8300/v1 (the demo serves a stand-in transcription
## provider there); see the README's "Try it" section.
demo: export DJANGO_SETTINGS_MODULE = studybuddy.settings.local
demo: install
	$(BIN)/python manage.py demo_lecture --url http://127.0.0.1:$(PORT)

## The whole suite, on PostgreSQL (DATABASE_URL, default postgresql://postgres@localhost:5432/studybuddy),
## on two pytest-xdist workers per CPU (at most 8; TEST_WORKERS=0 runs it in this
## process), each worker on its own test database (test_studybuddy_gw0, …). A single test:
## `.venv/bin/pytest tests/…::test_name`.
# Two workers per CPU: the end-to-end tests spend much of their time waiting on servers and
# workers of their own. On 2 CPUs, 4 workers left 16 s of CPU idle over the run where 3 left
# 50 s, and the run was 9 s shorter. Each worker takes a whole module at a time, the longest
# modules first (tests/conftest.py), so module fixtures start once and no long module runs
# alone at the end: with 3 workers, 20 s shorter than taking tests from each other's queues
# (worksteal), whose last 35 s ran one end-to-end module alone.
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print(2 * len(os.sched_getaffinity(0)))')
test: install-dev
	$(BIN)/pytest -n $(TEST_WORKERS) --maxprocesses=8 --dist loadfile --no-loadscope-reorder --durations=10

## Benchmarks on loopback (docs/performance.md): prints a table, writes bench-results.json.
## Uses its own PostgreSQL database (BENCH_DATABASE_URL, default .../studybuddy_bench).
bench: install-dev
	$(BIN)/python -m tests.benchmarks

## Build and install the pgvector extension (semantic search) into the local PostgreSQL from
## the source archive beside the repository: the server's development headers from apt, then
## pgvector's own `make install` (about 30 s). Needs root or sudo. Managed PostgreSQL
## services ship the extension; there `migrate` creates it.
PGVECTOR_ARCHIVE ?= ../shared/vendor/pgvector-0.8.6.tar.gz
pgvector:
	@set -euo pipefail; \
	sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	major=$$(ls /etc/postgresql 2>/dev/null | sort -n | tail -n 1); \
	[ -n "$$major" ] || { echo "no local PostgreSQL cluster under /etc/postgresql" >&2; exit 1; }; \
	[ -f "$(PGVECTOR_ARCHIVE)" ] || { echo "$(PGVECTOR_ARCHIVE) not found" >&2; exit 1; }; \
	pg_config=/usr/lib/postgresql/$$major/bin/pg_config; \
	if [ ! -x "$$pg_config" ] || [ ! -d "$$($$pg_config --includedir-server)" ]; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $$sudo apt-get install -y -q "postgresql-server-dev-$$major" \
	    || { $$sudo apt-get update -q && $$sudo apt-get install -y -q "postgresql-server-dev-$$major"; }; \
	fi; \
	build=$$(mktemp -d); trap 'rm -rf "$$build"' EXIT; \
	tar -xzf "$(PGVECTOR_ARCHIVE)" -C "$$build" --strip-components=1; \
	$(MAKE) -s -C "$$build" PG_CONFIG="$$pg_config"; \
	$$sudo $(MAKE) -s -C "$$build" install PG_CONFIG="$$pg_config"; \
	echo "pgvector installed for PostgreSQL $$major; run migrations to create the extension"

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	DJANGO_SETTINGS_MODULE=studybuddy.settings.test $(BIN)/python manage.py makemigrations --check --dry-run
