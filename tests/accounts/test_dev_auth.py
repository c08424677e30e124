"""Dev-auth mode: tokens from `manage.py dev_token`, accepted only when enabled."""

import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tokens import mint_dev_token

pytestmark = pytest.mark.django_db


def dev_token(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("dev_token", *args, stdout=out, stderr=err)
    return out.getvalue().strip()


def test_a_dev_token_is_accepted_in_dev_auth_mode(settings):
    settings.DEV_AUTH_ENABLED = True

    response = APIClient().get(
        "/api/courses", HTTP_AUTHORIZATION=f"Bearer {dev_token('--user', 'alice')}"
    )

    assert response.status_code == 200
    assert User.objects.get(clerk_id="user_dev_alice").email == "alice@example.com"


def test_a_dev_token_works_beside_a_configured_clerk_key(settings, client_for, alice):
    settings.DEV_AUTH_ENABLED = True
    token = dev_token()

    assert APIClient().get("/api/courses", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert client_for(alice).get("/api/courses").status_code == 200


def test_a_dev_token_is_refused_when_dev_auth_is_off(settings):
    settings.DEV_AUTH_ENABLED = True
    token = dev_token()
    settings.DEV_AUTH_ENABLED = False

    response = APIClient().get("/api/courses", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 401
    assert response.json()["detail"] == "invalid token"


def test_dev_token_warns_when_dev_auth_is_off():
    err = io.StringIO()

    call_command("dev_token", stdout=io.StringIO(), stderr=err)

    assert "dev auth is off" in err.getvalue()


def test_an_expired_dev_token_is_refused(settings):
    settings.DEV_AUTH_ENABLED = True
    token = mint_dev_token(name="alice", ttl_seconds=-60)

    response = APIClient().get("/api/courses", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.json()["detail"] == "token expired"


@pytest.mark.parametrize(
    "args", [["--user", "../x"], ["--user", ""], ["--ttl", "0"], ["--ttl", "99999999"]]
)
def test_dev_token_refuses_bad_arguments(args):
    with pytest.raises(CommandError):
        dev_token(*args)


def test_describe_dev_auth_prints_how_to_get_a_token(settings):
    settings.DEV_AUTH_ENABLED = True
    out = io.StringIO()

    call_command("describe_dev_auth", "--url", "http://127.0.0.1:8000", stdout=out)

    assert "manage.py dev_token" in out.getvalue()
    assert "http://127.0.0.1:8000/api/courses" in out.getvalue()
