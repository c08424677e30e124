"""The per-process cache of verified session tokens: it saves the second RS256 check of a
token and nothing else. What it must never do: outlive a token's ``exp``, hold a token that
failed, grow without bound, or let a request past a check that can change while the token
lives (the user deleted in Clerk, deactivated, or the settings of the checks)."""

from __future__ import annotations

import time

import pytest
from rest_framework.test import APIClient

from accounts import tokens
from accounts.models import DeletedClerkUser, User
from tests.auth import session_claims, sign

pytestmark = pytest.mark.django_db

URL = "/api/courses"


def get(token: str):
    return APIClient().get(URL, HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def full_checks(monkeypatch) -> list[str]:
    """The tokens that went through the full verification, in order."""
    seen: list[str] = []
    verify = tokens._verify

    def counting(token: str):
        seen.append(token)
        return verify(token)

    monkeypatch.setattr(tokens, "_verify", counting)
    return seen


def test_a_token_verified_once_is_not_verified_again_before_it_expires(clerk_key, full_checks):
    token = sign(session_claims(), clerk_key)

    assert [get(token).status_code for _ in range(3)] == [200, 200, 200]
    assert full_checks == [token]


def test_a_cached_token_past_its_exp_is_refused(clerk_key, full_checks):
    # As if the token had been verified while it was valid: its entry is still there.
    claims = session_claims(iat=int(time.time()) - 600, nbf=None, exp=int(time.time()) - 60)
    token = sign(claims, clerk_key)
    tokens._verified_tokens.put(token, claims)

    response = get(token)

    assert response.status_code == 401
    assert response.json()["detail"] == "token expired"
    assert full_checks == [token]
    assert tokens._verified_tokens.get(token) is None


def test_a_token_that_failed_is_never_cached(clerk_key, other_key, full_checks):
    valid_claims = session_claims()
    valid = sign(valid_claims, clerk_key)
    assert get(valid).status_code == 200
    # Same header and claims as the cached token, signed by another key: its twin is in
    # the cache, but the lookup is by the whole token, signature included.
    header_and_claims = valid.rsplit(".", 1)[0]
    forged = (
        header_and_claims + "." + sign(valid_claims, other_key, kid=clerk_key.kid).rsplit(".")[-1]
    )
    tampered = valid[:-4] + ("AAAA" if not valid.endswith("AAAA") else "BBBB")

    for token in (forged, tampered, forged, tampered):
        assert get(token).status_code == 401
    assert full_checks == [valid, forged, tampered, forged, tampered]
    assert tokens._verified_tokens.get(forged) is None
    assert tokens._verified_tokens.get(tampered) is None
    assert len(tokens._verified_tokens) == 1


def test_an_expired_token_is_not_cached(clerk_key, full_checks):
    token = sign(session_claims(nbf=None, iat=None, exp=int(time.time()) - 60), clerk_key)

    assert [get(token).status_code for _ in range(2)] == [401, 401]
    assert full_checks == [token, token]


def test_the_cache_keeps_the_most_recently_used_tokens_up_to_its_bound():
    cache = tokens.VerifiedTokens(max_entries=3)
    exp = int(time.time()) + 300
    for name in ("a", "b", "c"):
        cache.put(name, {"exp": exp, "sub": name})
    assert cache.get("a") == {"exp": exp, "sub": "a"}  # now the most recently used

    cache.put("d", {"exp": exp, "sub": "d"})
    cache.put("e", {"exp": exp, "sub": "e"})

    assert len(cache) == 3
    assert [cache.get(name) is not None for name in "abcde"] == [True, False, False, True, True]


def test_the_process_wide_cache_is_bounded():
    assert tokens._verified_tokens.max_entries == 1024


def test_a_caller_changing_its_claims_does_not_change_the_cached_ones():
    cache = tokens.VerifiedTokens()
    cache.put("t", {"exp": int(time.time()) + 300, "sub": "user_a", "org": {"role": "x"}})

    claims = cache.get("t")
    claims["sub"] = "user_b"
    claims["org"]["role"] = "admin"

    assert cache.get("t")["sub"] == "user_a"
    assert cache.get("t")["org"] == {"role": "x"}


def test_claims_of_strings_and_numbers_are_kept_apart_from_every_caller_too():
    cache = tokens.VerifiedTokens()
    put = {"exp": int(time.time()) + 300, "sub": "user_a", "email": "a@example.com"}
    cache.put("t", put)
    put["sub"] = "user_b"

    claims = cache.get("t")
    claims["email"] = "b@example.com"

    assert cache.get("t") == {"exp": put["exp"], "sub": "user_a", "email": "a@example.com"}


def test_a_user_deleted_in_clerk_is_refused_although_their_token_is_cached(clerk_key):
    token = sign(session_claims("user_gone"), clerk_key)
    assert get(token).status_code == 200
    DeletedClerkUser.objects.create(clerk_id="user_gone", deleted_at_ms=1)
    User.objects.filter(clerk_id="user_gone").get().delete()

    assert get(token).status_code == 401
    assert not User.objects.filter(clerk_id="user_gone").exists()


def test_a_deactivated_user_is_refused_although_their_token_is_cached(clerk_key):
    token = sign(session_claims("user_off"), clerk_key)
    assert get(token).status_code == 200
    user = User.objects.get(clerk_id="user_off")
    user.is_active = False
    user.save()

    assert get(token).status_code == 401


def test_changing_a_setting_of_the_checks_empties_the_cache(clerk_key, settings, full_checks):
    token = sign(session_claims(), clerk_key)
    assert get(token).status_code == 200

    settings.CLERK_ISSUER = "https://clerk.elsewhere.test"

    assert get(token).status_code == 401
    assert full_checks == [token, token]
