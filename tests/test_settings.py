"""Configuration from the environment: defaults, and errors that stop start-up clearly: a
malformed value as the settings are read, settings that contradict each other in the system
checks that every process runs before it serves."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db.utils import ConnectionHandler

from tests.auth import KeyPair

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    """``python *args`` from the repository, with ``env`` and little else."""
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **env}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    return run("-c", code, **env)


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return run("manage.py", *args, **env)


PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "studybuddy.settings.production",
    "SECRET_KEY": "x" * 60,
    "DATABASE_URL": "postgresql://postgres@localhost/x",
}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CLERK_JWT_KEY": "not a pem"}, "CLERK_JWT_KEY is not a PEM public key"),
        ({"SEARCH_CONFIG": "english; drop"}, "SEARCH_CONFIG must name a text search configuration"),
        ({"DOCUMENT_TEXT_MEMORY_BYTES": "1000"}, "DOCUMENT_TEXT_MEMORY_BYTES must be at least"),
        ({"DEBUG": "maybe"}, "DEBUG must be true or false, not 'maybe'"),
        ({"EMBEDDINGS_BASE_URL": "ftp://x"}, "EMBEDDINGS_BASE_URL must be an http(s) URL"),
        (
            {"ASSISTANT_BASE_URL": "https://u:p@x/v1"},
            "ASSISTANT_BASE_URL must not carry credentials",
        ),
        ({"EMBEDDINGS_DIMENSIONS": "5000"}, "EMBEDDINGS_DIMENSIONS must be at most 4000"),
        ({"DOCUMENT_MAX_BYTES": "lots"}, "DOCUMENT_MAX_BYTES must be a whole number"),
        ({"STORAGE_BACKEND": "ftp"}, "STORAGE_BACKEND must be one of local, s3"),
        ({"LOG_FORMAT": "yaml"}, "LOG_FORMAT must be one of text, json, not 'yaml'"),
        ({"CLERK_JWKS_URL": "file:///etc/passwd"}, "CLERK_JWKS_URL must be an https URL"),
        (
            {"CLERK_JWKS_URL": "http://clerk.example.com/.well-known/jwks.json"},
            "CLERK_JWKS_URL must be an https URL",
        ),
    ],
    ids=[
        "pem",
        "search-config",
        "text-memory",
        "debug",
        "embeddings-url",
        "assistant-url-credentials",
        "embeddings-dimensions",
        "int",
        "choice",
        "log-format",
        "jwks-url",
        "jwks-plain-http",
    ],
)
def test_a_malformed_value_stops_start_up_with_one_clear_line(env, message):
    result = manage("check", **{**PRODUCTION, **env})

    assert result.returncode == 2
    assert result.stderr.startswith(f"configuration error: {message}")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


# What the production settings have, and the settings that contradict them.
CONSISTENT = {
    "DEBUG": False,
    "DEV_AUTH_ENABLED": False,
    "STORAGE_BACKEND": "local",
    "Q_TIMEOUT_SECONDS": 3600,
    "Q_RETRY_SECONDS": 3900,
    "LECTURE_DOWNLOAD_TIMEOUT_SECONDS": 1800,
    "DOCUMENT_TEXT_TIMEOUT_SECONDS": 120,
}
CONTRADICTIONS = {
    "secret-key": ({"SECRET_KEY": ""}, "core.E001", "SECRET_KEY must be set when DEBUG is false"),
    "s3-bucket": (
        {"STORAGE_BACKEND": "s3", "AWS_STORAGE_BUCKET_NAME": ""},
        "core.E002",
        "STORAGE_BACKEND=s3 needs AWS_STORAGE_BUCKET_NAME",
    ),
    "q-retry": (
        {"Q_TIMEOUT_SECONDS": 600, "Q_RETRY_SECONDS": 600, "LECTURE_DOWNLOAD_TIMEOUT_SECONDS": 300},
        "core.E003",
        "Q_RETRY_SECONDS must be greater than Q_TIMEOUT_SECONDS",
    ),
    "dev-auth": (
        {"DEV_AUTH_ENABLED": True},
        "accounts.E001",
        "DEV_AUTH_ENABLED cannot be true when DEBUG is false",
    ),
    "download-timeout": (
        {"Q_TIMEOUT_SECONDS": 600, "Q_RETRY_SECONDS": 700},
        "lectures.E001",
        "LECTURE_DOWNLOAD_TIMEOUT_SECONDS must be less than Q_TIMEOUT_SECONDS, so a slow "
        "download fails the lecture instead of having its worker killed",
    ),
    "text-timeout": (
        {"DOCUMENT_TEXT_TIMEOUT_SECONDS": 3600},
        "documents.E001",
        "DOCUMENT_TEXT_TIMEOUT_SECONDS must be less than Q_TIMEOUT_SECONDS, so a slow PDF "
        "fails its document instead of having its worker killed",
    ),
}


def system_check_errors() -> list[str]:
    """The errors ``manage.py check`` reports, one line each: ``(id) message``."""
    try:
        call_command("check")
    except SystemCheckError as failure:
        return re.findall(r"^\?: (\(\w+\.E\d+\) .*)$", str(failure), re.MULTILINE)
    return []


@pytest.mark.parametrize(
    ("contradiction", "check_id", "message"),
    CONTRADICTIONS.values(),
    ids=CONTRADICTIONS.keys(),
)
def test_settings_that_contradict_each_other_fail_the_system_checks(
    settings, contradiction, check_id, message
):
    for name, value in {**CONSISTENT, **contradiction}.items():
        setattr(settings, name, value)

    assert system_check_errors() == [f"({check_id}) {message}"]


def test_consistent_settings_pass_the_system_checks(settings):
    for name, value in CONSISTENT.items():
        setattr(settings, name, value)

    assert system_check_errors() == []


def test_the_panoptodownloader_setting_without_the_package_fails_the_system_checks(
    settings, monkeypatch
):
    # Whether or not the package is installed here, the check must not see it.
    monkeypatch.setitem(sys.modules, "PanoptoDownloader", None)
    settings.LECTURE_DOWNLOADER = "panoptodownloader"

    assert system_check_errors() == [
        "(lectures.E002) LECTURE_DOWNLOADER=panoptodownloader but the PanoptoDownloader "
        "package is not installed (see docs/architecture.md, 'PanoptoDownloader')"
    ]


CONTRADICTORY_ENV = {"DEV_AUTH_ENABLED": "true"}
CONTRADICTION_LINE = (
    "configuration error: DEV_AUTH_ENABLED cannot be true when DEBUG is false (accounts.E001)\n"
)


def test_the_web_process_refuses_to_start_on_settings_that_contradict_each_other():
    result = run("deploy/web.py", **PRODUCTION, **CONTRADICTORY_ENV)

    assert result.returncode == 2
    assert result.stderr == CONTRADICTION_LINE


# deploy/web.py as it runs on a machine without nginx: nothing answers to the name.
WITHOUT_NGINX = """
import runpy, shutil, sys
from pathlib import Path
shutil.which = lambda name, *args, **kwargs: None
exists = Path.exists
Path.exists = lambda path: path.name != "nginx" and exists(path)
sys.argv = ["deploy/web.py"]
runpy.run_path("deploy/web.py", run_name="__main__")
"""


@pytest.mark.parametrize("behind_proxy", ["true", "false"], ids=["gunicorn-alone", "refused"])
def test_without_nginx_the_web_process_still_names_only_the_contradiction(behind_proxy):
    env = {**PRODUCTION, **CONTRADICTORY_ENV, "WEB_BEHIND_BUFFERING_PROXY": behind_proxy}

    result = run_python(WITHOUT_NGINX, **env)

    assert result.returncode == 2
    assert result.stderr == CONTRADICTION_LINE


def test_the_worker_refuses_to_start_on_settings_that_contradict_each_other():
    # deploy/worker.py starts ``manage.py qcluster``, which stops before the cluster starts.
    result = run("deploy/worker.py", **PRODUCTION, **CONTRADICTORY_ENV)

    assert result.returncode == 2
    assert result.stderr == CONTRADICTION_LINE


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({"CLERK_JWT_KEY": "junk"}, "configuration error: CLERK_JWT_KEY is not a PEM public key\n"),
        (CONTRADICTORY_ENV, CONTRADICTION_LINE),
    ],
    ids=["malformed", "contradiction"],
)
def test_the_wsgi_application_refuses_to_start_on_a_configuration_error(env, line):
    result = run_python("import studybuddy.wsgi", **{**PRODUCTION, **env})

    assert result.returncode == 2
    assert result.stderr == line


def test_check_deploy_reports_settings_that_contradict_each_other_with_their_id():
    result = manage("check", "--deploy", **{**PRODUCTION, **CONTRADICTORY_ENV})

    assert result.returncode == 1
    assert (
        "?: (accounts.E001) DEV_AUTH_ENABLED cannot be true when DEBUG is false\n" in result.stderr
    )


def test_a_pem_key_on_one_line_with_escaped_newlines_is_accepted():
    pem = KeyPair.generate("k").public_pem.replace("\n", "\\n")

    result = manage("check", **{**PRODUCTION, "CLERK_JWT_KEY": pem})

    assert result.returncode == 0, result.stderr


DEPLOYMENTS = {
    "pem-key-local-storage": {},
    "jwks-s3-cors": {
        "CLERK_JWT_KEY": "",
        "CLERK_JWKS_URL": "https://clerk.studybuddy.example/.well-known/jwks.json",
        "CLERK_AUTHORIZED_PARTIES": "https://app.studybuddy.example",
        "CORS_ALLOWED_ORIGINS": "https://app.studybuddy.example",
        "STORAGE_BACKEND": "s3",
        "AWS_STORAGE_BUCKET_NAME": "studybuddy-files",
        "TASK_BROKER": "redis",
    },
}


def production_env(**extra: str) -> dict[str, str]:
    return {
        **PRODUCTION,
        "SECRET_KEY": "k" * 30 + "Q9x!z" * 10,
        "CLERK_JWT_KEY": KeyPair.generate("k").public_pem,
        "ALLOWED_HOSTS": "api.studybuddy.example",
        **extra,
    }


@pytest.mark.parametrize("extra", DEPLOYMENTS.values(), ids=DEPLOYMENTS.keys())
def test_production_settings_pass_the_deploy_checks(extra):
    result = manage("check", "--deploy", "--fail-level", "WARNING", **production_env(**extra))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_deploy_checks_warn_when_private_networks_are_allowed():
    env = production_env(PANOPTO_ALLOW_PRIVATE_NETWORKS="true")

    result = manage("check", "--deploy", "--fail-level", "WARNING", **env)

    assert result.returncode == 1
    assert "lectures.W001" in result.stderr + result.stdout
    assert "PANOPTO_ALLOW_PRIVATE_NETWORKS is true" in result.stderr + result.stdout


def test_production_settings_harden_https_cookies_headers_and_auth():
    names = [
        "DEBUG",
        "DEV_AUTH_ENABLED",
        "DEV_ROUTES_ENABLED",
        "SESSION_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "CSRF_COOKIE_SECURE",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_CONTENT_TYPE_NOSNIFF",
        "SECURE_REFERRER_POLICY",
        "X_FRAME_OPTIONS",
        "PANOPTO_ALLOW_PRIVATE_NETWORKS",
    ]
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "from corsheaders.conf import conf as cors; "
        f"values = {{n: getattr(settings, n) for n in {names!r}}}; "
        "values['CORS_ALLOW_ALL_ORIGINS'] = cors.CORS_ALLOW_ALL_ORIGINS; "
        "print(json.dumps(values))"
    )

    result = run_python(code, **production_env())

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "DEBUG": False,
        "DEV_AUTH_ENABLED": False,
        "DEV_ROUTES_ENABLED": False,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
        "X_FRAME_OPTIONS": "DENY",
        "CORS_ALLOW_ALL_ORIGINS": False,
        "PANOPTO_ALLOW_PRIVATE_NETWORKS": False,
    }


def test_without_database_url_the_default_is_the_embedded_sqlite_file():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "d = settings.DATABASES['default']; print(d['ENGINE'], d['NAME'])"
    )

    result = run_python(code, DJANGO_SETTINGS_MODULE="studybuddy.settings.local")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        str(ROOT / "var" / "studybuddy.sqlite3"),
    ]


def test_the_embedded_sqlite_database_runs_in_wal_mode_with_a_busy_timeout(
    tmp_path, monkeypatch, django_db_blocker
):
    from studybuddy.settings.base import _database

    monkeypatch.delenv("DATABASE_URL")
    config = {**_database(), "NAME": tmp_path / "db.sqlite3"}
    connection = ConnectionHandler({"default": config})["default"]
    with django_db_blocker.unblock():
        try:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA journal_mode")
                journal_mode = cursor.fetchone()[0]
                cursor.execute("PRAGMA busy_timeout")
                busy_timeout = cursor.fetchone()[0]
        finally:
            connection.close()

    assert journal_mode == "wal"
    assert busy_timeout == 20000
