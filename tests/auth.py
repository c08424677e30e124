"""Real RSA keys and real signed session tokens for the tests."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://clerk.studybuddy.test"
SPA_ORIGIN = "http://localhost:5173"


@dataclass(frozen=True)
class KeyPair:
    kid: str
    private_key: rsa.RSAPrivateKey

    @classmethod
    def generate(cls, kid: str) -> KeyPair:
        return cls(kid, rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @property
    def public_pem(self) -> str:
        return (
            self.private_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    @property
    def jwk(self) -> dict[str, Any]:
        data = jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**data, "kid": self.kid, "use": "sig", "alg": "RS256"}


def session_claims(sub: str = "user_alice", **overrides: Any) -> dict[str, Any]:
    """The claims of a fresh, valid Clerk session token; ``None`` values are dropped."""
    now = int(time.time())
    claims = {
        "sub": sub,
        "sid": f"sess_{uuid.uuid4().hex}",
        "iss": ISSUER,
        "azp": SPA_ORIGIN,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        **overrides,
    }
    return {name: value for name, value in claims.items() if value is not None}


def sign(claims: dict[str, Any], key: KeyPair, *, kid: str | None = "same") -> str:
    headers = {} if kid is None else {"kid": key.kid if kid == "same" else kid}
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers=headers)
