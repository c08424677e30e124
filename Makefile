# StudyBuddy backend. `make run` and `make test` work from a fresh clone (Python 3.11+).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
INSTALLED := $(VENV)/.installed
DEV_INSTALLED := $(VENV)/.installed-dev

.PHONY: install install-dev run test bench lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(INSTALLED): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(INSTALLED)

# What tests, lint and benchmarks add on top of the service's own requirements.
$(DEV_INSTALLED): requirements-dev.txt $(INSTALLED)
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(DEV_INSTALLED)

install: $(INSTALLED)
install-dev: $(DEV_INSTALLED)

## Web server and one worker on http://127.0.0.1:8000 (SQLite under var/ without DATABASE_URL).
run: export DJANGO_SETTINGS_MODULE = studybuddy.settings.local
run: export PATH := $(BIN):$(PATH)
run: install
	python manage.py migrate --noinput
	python manage.py collectstatic --noinput --verbosity 0
	@python manage.py describe_dev_auth --url http://127.0.0.1:8000
	WEB_HOST=127.0.0.1 WEB_CONCURRENCY=2 honcho start --port 8000 web worker

## The whole suite, on PostgreSQL (DATABASE_URL, default postgresql://postgres@localhost:5432/studybuddy).
test: install-dev
	$(BIN)/pytest

## Benchmarks (SPEC section 10) on loopback: prints a table, writes bench-results.json.
## Uses its own PostgreSQL database (BENCH_DATABASE_URL, default .../studybuddy_bench).
bench: install-dev
	$(BIN)/python -m tests.benchmarks

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	DJANGO_SETTINGS_MODULE=studybuddy.settings.test $(BIN)/python manage.py makemigrations --check --dry-run
