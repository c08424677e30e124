"""``/api/me`` (the caller's account) and ``/api/webhooks/clerk`` (Clerk's events)."""

from __future__ import annotations

import json

from django.conf import settings
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services, webhooks
from accounts.models import User
from core.exceptions import InvalidInput, ObjectNotFound, UploadTooLarge
from core.openapi import error_responses
from core.throttling import AddressRateThrottle


class UsageSerializer(serializers.Serializer):
    courses = serializers.IntegerField(help_text="Courses in my list.")
    lectures = serializers.IntegerField(help_text="Lectures in my list.")
    documents = serializers.IntegerField(help_text="Documents I uploaded.")
    document_bytes = serializers.IntegerField(help_text="Their total size.")

    def get_fields(self) -> dict[str, serializers.Field]:
        # The counts the apps above this one register (``search``: ``embedded_passages``).
        fields = super().get_fields()
        for count in selectors.usage_counts_registered():
            fields[count.name] = serializers.IntegerField(help_text=count.help_text)
        return fields


class LimitsSerializer(serializers.Serializer):
    document_bytes = serializers.IntegerField(help_text="The most my documents may take.")
    active_downloads = serializers.IntegerField(
        help_text="The most lecture downloads I may have queued or running at once."
    )
    assistant_tokens_per_day = serializers.IntegerField(
        help_text="The most study assistant tokens I may spend per UTC day."
    )


class MeSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    clerk_id = serializers.CharField(allow_null=True)
    email = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    is_admin = serializers.BooleanField(help_text="API admin (staff or `ADMIN_USER_IDS`).")
    usage = UsageSerializer()
    limits = LimitsSerializer()


class MeView(APIView):
    """The caller's account: who they are, what they use, and removing all of it."""

    @extend_schema(
        summary="My account, usage and limits",
        responses={200: MeSerializer, **error_responses()},
    )
    def get(self, request: Request) -> Response:
        user: User = request.user
        body = {
            "id": user.id,
            "clerk_id": user.clerk_id,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "is_admin": selectors.user_is_api_admin(user),
            "usage": selectors.user_usage(user=user),
            "limits": {
                "document_bytes": settings.USER_DOCUMENT_QUOTA_BYTES,
                "active_downloads": settings.USER_ACTIVE_DOWNLOADS,
                "assistant_tokens_per_day": settings.USER_ASSISTANT_DAILY_TOKENS,
            },
        }
        return Response(MeSerializer(body).data)

    @extend_schema(
        summary="Delete my data",
        description=(
            "Removes my documents and their files, my courses list, my lectures (a lecture "
            "nobody else has goes with its audio) and my account here. The Clerk account "
            "stays: the next request with a token finds a new, empty account."
        ),
        responses={204: OpenApiResponse(description="Deleted."), **error_responses()},
    )
    def delete(self, request: Request) -> Response:
        services.user_delete(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


_WEBHOOK_RESULT = inline_serializer(
    "ClerkWebhookResult", fields={"outcome": serializers.CharField()}
)
# No session token on this route, so never a 401.
_WEBHOOK_ERRORS = {code: r for code, r in error_responses(400, 404, 413).items() if code != 401}
_SVIX_HEADERS = [
    OpenApiParameter(name, str, location=OpenApiParameter.HEADER, description=description)
    for name, description in [
        ("svix-id", "The delivery's id (the same on every retry)."),
        ("svix-timestamp", "When it was signed, in Unix seconds."),
        ("svix-signature", "Space-separated `v1,<base64 HMAC-SHA256>` signatures."),
    ]
]


class ClerkWebhookView(APIView):
    """Clerk's user events, sent through Svix and verified with ``CLERK_WEBHOOK_SECRET``."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AddressRateThrottle]
    throttle_scope = "webhooks"
    parser_classes: list = []  # the raw body is what was signed

    @extend_schema(
        summary="Clerk webhook (user.created, user.updated, user.deleted)",
        description=(
            "Called by Clerk (through Svix), not by the app: no session token; the body is "
            "verified with the `svix-id`, `svix-timestamp` and `svix-signature` headers. "
            "A delivery already processed answers 200 and changes nothing. A user event "
            "whose time (`data.updated_at`, `data.created_at`, a deletion's `timestamp`, in "
            "milliseconds) is before 2000-01-01 or more than a day ahead is 400 on that "
            "field and changes nothing. 404 when `CLERK_WEBHOOK_SECRET` is not set."
        ),
        request={"application/json": dict},
        parameters=_SVIX_HEADERS,
        responses={200: _WEBHOOK_RESULT, **_WEBHOOK_ERRORS},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        secret = settings.CLERK_WEBHOOK_SECRET
        if not secret:
            raise ObjectNotFound()
        limit = settings.CLERK_WEBHOOK_MAX_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            raise UploadTooLarge("The webhook body is over 1 MiB.")
        body = request.body
        if len(body) > limit:
            raise UploadTooLarge("The webhook body is over 1 MiB.")
        webhooks.verify(
            secret=secret,
            headers=request.headers,
            body=body,
            tolerance_seconds=settings.CLERK_WEBHOOK_TOLERANCE_SECONDS,
        )
        try:
            event = json.loads(body)
        except (ValueError, RecursionError):
            event = None
        if not isinstance(event, dict):
            raise InvalidInput("The webhook body is not a JSON object.")
        try:
            outcome = services.clerk_webhook_process(
                delivery_id=request.headers["svix-id"],
                event=event,
                sent_at=int(request.headers["svix-timestamp"]),
            )
        except services.InvalidClerkEvent as exc:
            raise InvalidInput(str(exc), field=exc.field) from None
        return Response({"outcome": outcome})
