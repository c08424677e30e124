"""The Svix signature scheme, checked against the ``svix`` package's own test vectors
(svix-webhooks, python/tests/test_webhooks.py): same secret, id, payload and signatures."""

from __future__ import annotations

import base64

import pytest

from accounts.webhooks import InvalidSignature, sign, signing_key, verify

# The package's vectors.
SECRET = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
PAYLOAD = b'{"test": 2432232314}'
TIMESTAMP = 1614265330
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
OTHER_SIGNATURE = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
TOLERANCE = 300


def headers(signature: str = SIGNATURE, *, timestamp: int = TIMESTAMP) -> dict[str, str]:
    return {"svix-id": MSG_ID, "svix-timestamp": str(timestamp), "svix-signature": signature}


def check(secret: str = "whsec_" + SECRET, *, now: float = TIMESTAMP, **header_options) -> None:
    verify(
        secret=secret,
        headers=headers(**header_options),
        body=PAYLOAD,
        tolerance_seconds=TOLERANCE,
        now=now,
    )


def test_signing_gives_the_packages_signature():
    assert sign(secret="whsec_" + SECRET, msg_id=MSG_ID, timestamp=TIMESTAMP, body=PAYLOAD) == (
        SIGNATURE
    )


@pytest.mark.parametrize("secret", [SECRET, "whsec_" + SECRET], ids=["bare", "whsec_ prefix"])
def test_the_secret_is_accepted_with_and_without_its_whsec_prefix(secret):
    assert signing_key(secret) == base64.b64decode(SECRET)
    check(secret)


def test_one_valid_signature_among_several_suffices():
    # The package's multi-signature vector: a v2 and wrong v1 signatures around the valid one.
    several = " ".join([OTHER_SIGNATURE, "v2," + SIGNATURE[3:], SIGNATURE, OTHER_SIGNATURE])

    check(signature=several)


@pytest.mark.parametrize(
    "signature",
    [
        OTHER_SIGNATURE,  # the package's "invalid signature" vector
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=",  # one character off
        "v2," + SIGNATURE[3:],  # the right digest under an unknown version
        SIGNATURE[3:],  # no version
        "",
    ],
    ids=["other", "one-character-off", "v2", "no-version", "empty"],
)
def test_a_wrong_signature_is_refused(signature):
    with pytest.raises(InvalidSignature):
        check(signature=signature)


@pytest.mark.parametrize("offset", [TOLERANCE + 1, -(TOLERANCE + 1)], ids=["old", "future"])
def test_a_timestamp_more_than_five_minutes_off_is_refused(offset):
    with pytest.raises(InvalidSignature):
        check(now=TIMESTAMP + offset)


@pytest.mark.parametrize("offset", [TOLERANCE, -TOLERANCE], ids=["old", "future"])
def test_a_timestamp_up_to_five_minutes_off_is_accepted(offset):
    check(now=TIMESTAMP + offset)


@pytest.mark.parametrize("missing", ["svix-id", "svix-timestamp", "svix-signature"])
def test_a_missing_header_is_refused(missing):
    incomplete = {name: value for name, value in headers().items() if name != missing}

    with pytest.raises(InvalidSignature):
        verify(
            secret=SECRET, headers=incomplete, body=PAYLOAD, tolerance_seconds=300, now=TIMESTAMP
        )


@pytest.mark.parametrize("timestamp", ["hello", "1614265330.5", "-1614265330", "١٦١٤٢٦٥٣٣٠"])
def test_a_timestamp_that_is_not_whole_seconds_is_refused(timestamp):
    with pytest.raises(InvalidSignature):
        verify(
            secret=SECRET,
            headers={**headers(), "svix-timestamp": timestamp},
            body=PAYLOAD,
            tolerance_seconds=300,
            now=TIMESTAMP,
        )


def test_a_secret_that_is_not_base64_is_refused():
    with pytest.raises(ValueError):
        signing_key("whsec_not base64!")
