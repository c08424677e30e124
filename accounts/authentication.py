"""DRF authentication with Clerk session tokens."""

from __future__ import annotations

import logging
import re
from typing import Any

from django.conf import settings
from rest_framework import authentication, exceptions
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request

from accounts.models import User
from accounts.services import ClerkUserDeleted, user_get_or_create_from_clerk
from accounts.tokens import TokenError, verify_session_token

logger = logging.getLogger(__name__)

SESSION_COOKIE = "__session"
_JWT_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")


def _first_claim(claims: dict[str, Any], *names: str) -> str:
    for name in names:
        value = claims.get(name)
        if isinstance(value, str) and value:
            return value
    return ""


class ClerkAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <token>``, or else the ``__session`` cookie.

    A cookie travels with cross-site requests, so a cookie token authorises an unsafe
    method only when the request's ``Origin`` is one of the SPA's origins.
    """

    def authenticate(self, request: Request) -> tuple[User, dict[str, Any]] | None:
        token, from_cookie = self._token(request)
        if token is None:
            # Not a refusal yet: routes open to all (the schema) still answer. Elsewhere DRF
            # answers 401 NotAuthenticated, which core.exceptions words "missing token".
            return None
        try:
            claims = verify_session_token(token)
        except TokenError as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        if from_cookie and request.method not in SAFE_METHODS and not self._origin_allowed(request):
            logger.info("cookie token refused for %s: origin not allowed", request.method)
            raise exceptions.AuthenticationFailed("invalid token")
        try:
            user = user_get_or_create_from_clerk(
                clerk_id=claims["sub"],
                email=_first_claim(claims, "email", "email_address"),
                first_name=_first_claim(claims, "first_name", "given_name"),
                last_name=_first_claim(claims, "last_name", "family_name"),
            )
        except ClerkUserDeleted:
            logger.info("token refused: the Clerk user was deleted")
            raise exceptions.AuthenticationFailed("invalid token") from None
        if not user.is_active:
            raise exceptions.AuthenticationFailed("invalid token")
        return user, claims

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"

    @staticmethod
    def _token(request: Request) -> tuple[str | None, bool]:
        header = request.META.get("HTTP_AUTHORIZATION")
        if header is not None:
            parts = header.split(" ")
            if len(parts) != 2 or parts[0].lower() != "bearer" or not _JWT_SHAPE.match(parts[1]):
                raise exceptions.AuthenticationFailed("invalid token")
            return parts[1], False
        cookie = request.COOKIES.get(SESSION_COOKIE)
        if cookie:
            return cookie, True
        return None, False

    @staticmethod
    def _origin_allowed(request: Request) -> bool:
        origin = request.headers.get("Origin")
        allowed = {*settings.CLERK_AUTHORIZED_PARTIES, *settings.CORS_ALLOWED_ORIGINS}
        return bool(origin) and origin in allowed
