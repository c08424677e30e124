"""Clerk session tokens, verified with real RSA keys, through the HTTP API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from rest_framework.test import APIClient

from accounts.models import User
from courses.models import Course, Enrollment
from tests.auth import SPA_ORIGIN, session_claims, sign
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/courses"


def get_with_token(token: str):
    return APIClient().get(URL, HTTP_AUTHORIZATION=f"Bearer {token}")


def assert_refused(response, detail: str = "invalid token") -> None:
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"detail": detail, "code": "authentication_failed"}


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# --- Accepted tokens -------------------------------------------------------------------


def test_a_valid_token_signed_by_the_pem_key_is_accepted(clerk_key):
    response = get_with_token(sign(session_claims("user_alice"), clerk_key))

    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_first_sight_of_a_clerk_user_creates_the_local_user_with_profile_claims(clerk_key):
    claims = session_claims("user_new", email="new@example.com", first_name="Nia", last_name="Ng")

    assert get_with_token(sign(claims, clerk_key)).status_code == 200

    user = User.objects.get(clerk_id="user_new")
    assert (user.email, user.first_name, user.last_name) == ("new@example.com", "Nia", "Ng")
    assert not user.has_usable_password()


def test_changed_profile_claims_update_the_user(clerk_key):
    get_with_token(sign(session_claims("user_x", email="old@example.com"), clerk_key))
    get_with_token(sign(session_claims("user_x", email="new@example.com"), clerk_key))

    assert User.objects.get(clerk_id="user_x").email == "new@example.com"


def test_a_token_within_the_clock_leeway_is_accepted(clerk_key):
    now = int(time.time())
    claims = session_claims(exp=now - 2, nbf=now + 2, iat=now + 2)

    assert get_with_token(sign(claims, clerk_key)).status_code == 200


def test_the_lower_case_bearer_scheme_is_accepted(clerk_key):
    token = sign(session_claims(), clerk_key)

    response = APIClient().get(URL, HTTP_AUTHORIZATION=f"bearer {token}")

    assert response.status_code == 200


def test_a_valid_token_by_jwks_is_accepted(settings, clerk_key, jwks_server):
    jwks_server.keys = [clerk_key.jwk]
    settings.CLERK_JWT_KEY = ""
    settings.CLERK_JWKS_URL = jwks_server.url

    assert get_with_token(sign(session_claims(), clerk_key)).status_code == 200
    assert get_with_token(sign(session_claims(), clerk_key)).status_code == 200
    assert jwks_server.hits == 1


def test_key_rotation_fetches_the_new_key_once(settings, clerk_key, other_key, jwks_server):
    jwks_server.keys = [clerk_key.jwk]
    settings.CLERK_JWT_KEY = ""
    settings.CLERK_JWKS_URL = jwks_server.url
    assert get_with_token(sign(session_claims(), clerk_key)).status_code == 200

    jwks_server.keys = [clerk_key.jwk, other_key.jwk]
    responses = [get_with_token(sign(session_claims(), other_key)) for _ in range(3)]

    assert [r.status_code for r in responses] == [200, 200, 200]
    assert jwks_server.hits == 2


def test_an_unknown_kid_is_refused_and_does_not_refetch_every_time(
    settings, clerk_key, other_key, jwks_server
):
    jwks_server.keys = [clerk_key.jwk]
    settings.CLERK_JWT_KEY = ""
    settings.CLERK_JWKS_URL = jwks_server.url

    responses = [get_with_token(sign(session_claims(), other_key)) for _ in range(5)]

    for response in responses:
        assert_refused(response)
    assert jwks_server.hits == 1


def test_a_jwks_token_without_kid_is_refused(settings, clerk_key, jwks_server):
    jwks_server.keys = [clerk_key.jwk]
    settings.CLERK_JWT_KEY = ""
    settings.CLERK_JWKS_URL = jwks_server.url

    assert_refused(get_with_token(sign(session_claims(), clerk_key, kid=None)))
    assert jwks_server.hits == 0


def test_jwks_server_down_is_refused_fast_without_hanging(settings, clerk_key, jwks_server):
    settings.CLERK_JWT_KEY = ""
    settings.CLERK_JWKS_URL = jwks_server.url
    jwks_server.stop()

    for _ in range(3):
        assert_refused(get_with_token(sign(session_claims(), clerk_key)))


def test_a_stalled_jwks_server_is_cut_off_by_the_timeout(settings, clerk_key, jwks_server):
    jwks_server.keys = [clerk_key.jwk]
    jwks_server.stall_seconds = 3
    settings.CLERK_JWT_KEY = ""
    settings.CLERK_JWKS_URL = jwks_server.url
    settings.CLERK_JWKS_TIMEOUT_SECONDS = 0.5

    assert_refused(get_with_token(sign(session_claims(), clerk_key)))
    # Failing fast afterwards: the next request does not wait on the key server again.
    assert_refused(get_with_token(sign(session_claims(), clerk_key)))
    assert jwks_server.hits == 1


def test_after_a_key_server_outage_the_known_key_works_again(settings, clerk_key, jwks_server):
    jwks_server.keys = [clerk_key.jwk]
    jwks_server.fail_status = 503
    settings.CLERK_JWT_KEY = ""
    settings.CLERK_JWKS_URL = jwks_server.url
    settings.CLERK_JWKS_FAILURE_BACKOFF_SECONDS = 0
    assert_refused(get_with_token(sign(session_claims(), clerk_key)))

    jwks_server.fail_status = None

    assert get_with_token(sign(session_claims(), clerk_key)).status_code == 200


def test_a_very_long_kid_is_refused_without_a_fetch(settings, clerk_key, jwks_server):
    jwks_server.keys = [clerk_key.jwk]
    settings.CLERK_JWT_KEY = ""
    settings.CLERK_JWKS_URL = jwks_server.url

    assert_refused(get_with_token(sign(session_claims(), clerk_key, kid="k" * 1000)))
    assert jwks_server.hits == 0


def test_a_jwks_server_error_is_refused(settings, clerk_key, jwks_server):
    jwks_server.fail_status = 500
    settings.CLERK_JWT_KEY = ""
    settings.CLERK_JWKS_URL = jwks_server.url

    assert_refused(get_with_token(sign(session_claims(), clerk_key)))


# --- Refused tokens --------------------------------------------------------------------


def test_no_token_is_refused_with_the_body_the_readme_documents():
    response = APIClient().get(URL)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"detail": "missing token", "code": "not_authenticated"}


def test_an_empty_session_cookie_is_a_missing_token():
    client = APIClient()
    client.cookies["__session"] = ""

    response = client.get(URL)

    assert response.status_code == 401
    assert response.json() == {"detail": "missing token", "code": "not_authenticated"}


@pytest.mark.parametrize(
    "header", ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer a.b", "Bearer a.b.c extra"]
)
def test_a_malformed_authorization_header_is_an_invalid_token(header):
    response = APIClient().get(URL, HTTP_AUTHORIZATION=header)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.content == b'{"detail":"invalid token","code":"authentication_failed"}'


def test_an_expired_token_is_refused_as_expired(clerk_key):
    claims = session_claims(exp=int(time.time()) - 60)

    assert_refused(get_with_token(sign(claims, clerk_key)), detail="token expired")


def test_a_token_not_yet_valid_is_refused(clerk_key):
    claims = session_claims(nbf=int(time.time()) + 60)

    assert_refused(get_with_token(sign(claims, clerk_key)))


def test_a_token_issued_in_the_future_beyond_leeway_is_refused(clerk_key):
    claims = session_claims(iat=int(time.time()) + 60, nbf=None)

    assert_refused(get_with_token(sign(claims, clerk_key)))


def test_a_bad_signature_is_refused(other_key):
    assert_refused(get_with_token(sign(session_claims(), other_key)))


def test_a_tampered_payload_is_refused(clerk_key):
    header, _, signature = sign(session_claims("user_alice"), clerk_key).split(".")
    forged = f"{header}.{b64(session_claims('user_admin'))}.{signature}"

    assert_refused(get_with_token(forged))


def test_alg_none_is_refused():
    token = jwt.encode(session_claims(), key=None, algorithm="none")

    assert_refused(get_with_token(token))


def test_hs256_signed_with_the_public_key_as_secret_is_refused(clerk_key):
    header = b64({"alg": "HS256", "typ": "JWT"})
    payload = b64(session_claims())
    mac = hmac.new(
        clerk_key.public_pem.encode(), f"{header}.{payload}".encode(), hashlib.sha256
    ).digest()
    token = f"{header}.{payload}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"

    assert_refused(get_with_token(token))


def test_an_rs512_token_is_refused(clerk_key):
    token = jwt.encode(session_claims(), clerk_key.private_key, algorithm="RS512")

    assert_refused(get_with_token(token))


@pytest.mark.parametrize("claim", ["sub", "sid", "exp"])
def test_a_token_missing_a_required_claim_is_refused(clerk_key, claim):
    claims = session_claims()
    del claims[claim]

    assert_refused(get_with_token(sign(claims, clerk_key)))


def test_a_pending_session_is_refused(clerk_key):
    assert_refused(get_with_token(sign(session_claims(sts="pending"), clerk_key)))


def test_an_active_session_status_is_accepted(clerk_key):
    assert get_with_token(sign(session_claims(sts="active"), clerk_key)).status_code == 200


def test_a_wrong_issuer_is_refused(clerk_key):
    claims = session_claims(iss="https://evil.example")

    assert_refused(get_with_token(sign(claims, clerk_key)))


def test_a_missing_issuer_is_refused_when_one_is_configured(clerk_key):
    assert_refused(get_with_token(sign(session_claims(iss=None), clerk_key)))


def test_an_azp_not_allowed_is_refused(clerk_key):
    claims = session_claims(azp="https://evil.example")

    assert_refused(get_with_token(sign(claims, clerk_key)))


def test_azp_is_not_checked_when_no_parties_are_configured(settings, clerk_key):
    settings.CLERK_AUTHORIZED_PARTIES = []
    claims = session_claims(azp="https://anything.example")

    assert get_with_token(sign(claims, clerk_key)).status_code == 200


def test_issuer_is_not_checked_when_none_is_configured(settings, clerk_key):
    settings.CLERK_ISSUER = ""

    assert get_with_token(sign(session_claims(iss="https://x"), clerk_key)).status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Bearer  two.spaces.here",
        "Basic dXNlcjpwYXNz",
        "Token a.b.c",
        "Bearer a.b.c extra",
        "Bearer ..",
        "Bearer not-a-jwt",
        "Bearer " + "A" * 100_000,
        "Bearer " + "A" * 50_000 + "." + "B" * 50_000 + ".C",
    ],
    ids=[
        "nothing",
        "space",
        "two-spaces",
        "basic",
        "token",
        "extra",
        "two-dots",
        "no-dots",
        "100kb",
        "100kb-jwt-shape",
    ],
)
def test_a_malformed_authorization_header_is_refused(header):
    response = APIClient().get(URL, HTTP_AUTHORIZATION=header)

    assert_refused(response)


def test_two_dots_of_garbage_is_refused():
    assert_refused(get_with_token("garbage.garbage.garbage"))


def test_a_token_of_a_deactivated_user_is_refused(clerk_key):
    UserFactory(clerk_id="user_banned", is_active=False)

    assert_refused(get_with_token(sign(session_claims("user_banned"), clerk_key)))


def test_a_refusal_never_reveals_more_than_invalid_or_expired(clerk_key, other_key):
    bodies = {
        get_with_token(sign(session_claims(), other_key)).content,
        get_with_token(sign(session_claims(iss="x"), clerk_key)).content,
        get_with_token(sign(session_claims(sts="pending"), clerk_key)).content,
        get_with_token("a.b.c").content,
    }

    assert bodies == {b'{"detail":"invalid token","code":"authentication_failed"}'}


# --- The __session cookie --------------------------------------------------------------


def cookie_client(token: str) -> APIClient:
    client = APIClient()
    client.cookies["__session"] = token
    return client


def test_a_cookie_token_is_accepted_for_get(clerk_key):
    response = cookie_client(sign(session_claims(), clerk_key)).get(URL)

    assert response.status_code == 200


def test_an_invalid_cookie_token_is_refused(other_key):
    assert_refused(cookie_client(sign(session_claims(), other_key)).get(URL))


def test_a_cookie_token_is_accepted_for_post_from_an_allowed_origin(clerk_key):
    client = cookie_client(sign(session_claims(), clerk_key))

    response = client.post(
        URL, {"code": "CSC 173", "title": "Computation"}, format="json", HTTP_ORIGIN=SPA_ORIGIN
    )

    assert response.status_code == 201


def test_a_cookie_origin_may_come_from_cors_allowed_origins(settings, clerk_key):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.studybuddy.test"]
    client = cookie_client(sign(session_claims(azp=None), clerk_key))
    settings.CLERK_AUTHORIZED_PARTIES = []

    response = client.post(
        URL,
        {"code": "CSC 173", "title": "Computation"},
        format="json",
        HTTP_ORIGIN="https://app.studybuddy.test",
    )

    assert response.status_code == 201


@pytest.mark.parametrize("origin", [None, "https://evil.example", "null"])
def test_a_cookie_token_is_refused_for_post_from_another_origin(clerk_key, origin):
    client = cookie_client(sign(session_claims(), clerk_key))
    extra = {} if origin is None else {"HTTP_ORIGIN": origin}

    response = client.post(URL, {"code": "CSC 173", "title": "Computation"}, format="json", **extra)

    assert_refused(response)
    assert not Course.objects.exists()


@pytest.mark.parametrize("method", ["put", "delete"])
def test_a_cookie_token_is_refused_for_put_and_delete_from_another_origin(clerk_key, method):
    course = CourseFactory()
    enrolled = EnrollmentFactory(user=UserFactory(clerk_id="user_alice"), course=course)
    client = cookie_client(sign(session_claims("user_alice"), clerk_key))

    response = getattr(client, method)(
        f"/api/courses/{course.id}/enrollment", HTTP_ORIGIN="https://evil.example"
    )

    assert_refused(response)
    assert Enrollment.objects.filter(pk=enrolled.pk).exists()


@pytest.mark.parametrize("method", ["put", "delete"])
def test_a_cookie_token_is_accepted_for_put_and_delete_from_the_spa(clerk_key, method):
    course = CourseFactory()
    client = cookie_client(sign(session_claims(), clerk_key))

    response = getattr(client, method)(
        f"/api/courses/{course.id}/enrollment", HTTP_ORIGIN=SPA_ORIGIN
    )

    assert response.status_code in (201, 204)


def test_a_bearer_token_needs_no_origin_for_post(clerk_key):
    response = APIClient().post(
        URL,
        {"code": "CSC 173", "title": "Computation"},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {sign(session_claims(), clerk_key)}",
    )

    assert response.status_code == 201


def test_the_header_wins_over_the_cookie(clerk_key, other_key):
    client = cookie_client(sign(session_claims(), clerk_key))

    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {sign(session_claims(), other_key)}")

    assert_refused(response)


# --- Misconfiguration ------------------------------------------------------------------


def test_with_no_key_configured_every_token_is_refused(settings, clerk_key):
    settings.CLERK_JWT_KEY = ""
    settings.CLERK_JWKS_URL = ""

    assert_refused(get_with_token(sign(session_claims(), clerk_key)))
