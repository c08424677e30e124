"""``/api/conversations``: the caller's conversations with the study assistant, and the
answers it streams (the AI SDK's UI message stream, or JSON for ``Accept:
application/json``)."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from assistant import events, selectors, services
from assistant.models import Conversation, Message
from assistant.retrieval import Scope
from core.openapi import error_responses
from core.validators import no_control_characters


class EventStreamRenderer(BaseRenderer):
    """Lets a request that accepts only ``text/event-stream`` through DRF's negotiation;
    the stream itself is a ``StreamingHttpResponse``, never rendered."""

    media_type = events.CONTENT_TYPE
    format = "sse"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return JSONRenderer().render(data)


class ConversationSerializer(serializers.ModelSerializer):
    course_id = serializers.UUIDField(allow_null=True, read_only=True)

    class Meta:
        model = Conversation
        fields = ["id", "title", "course_id", "created_at", "updated_at"]


class ConversationCreateSerializer(serializers.Serializer):
    title = serializers.CharField(
        max_length=200, required=False, allow_blank=True, validators=[no_control_characters]
    )
    course_id = serializers.UUIDField(required=False, allow_null=True)


class ConversationRenameSerializer(serializers.Serializer):
    title = serializers.CharField(
        max_length=200, allow_blank=True, validators=[no_control_characters]
    )


class UsageTokensSerializer(serializers.Serializer):
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()


class SourceSerializer(serializers.Serializer):
    number = serializers.IntegerField(help_text="Cited in the text as `[number]`.")
    type = serializers.ChoiceField(choices=["lecture", "document"])
    id = serializers.UUIDField(help_text="The lecture's or the document's id.")
    course_id = serializers.UUIDField()
    title = serializers.CharField(allow_blank=True)
    start = serializers.FloatField(allow_null=True, help_text="Lecture: seconds.")
    end = serializers.FloatField(allow_null=True)
    page = serializers.IntegerField(allow_null=True, help_text="Document: the page, from 1.")
    snippet = serializers.CharField(help_text="HTML-escaped, matched words in `<mark>`.")


class MessageSerializer(serializers.ModelSerializer):
    sources = SourceSerializer(many=True)
    citations = SourceSerializer(many=True, help_text="The sources the stored text cites.")
    usage = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id",
            "role",
            "content",
            "status",
            "sources",
            "citations",
            "usage",
            "truncated",
            "error",
            "created_at",
        ]

    @extend_schema(responses=UsageTokensSerializer(allow_null=True))
    def get_usage(self, message: Message) -> dict | None:
        if message.total_tokens is None:
            return None
        return {
            "prompt_tokens": message.prompt_tokens,
            "completion_tokens": message.completion_tokens,
            "total_tokens": message.total_tokens,
        }


class ConversationDetailSerializer(ConversationSerializer):
    messages = MessageSerializer(many=True, read_only=True)

    class Meta(ConversationSerializer.Meta):
        fields = [*ConversationSerializer.Meta.fields, "messages"]


class ScopeSerializer(serializers.Serializer):
    course_id = serializers.UUIDField(required=False)
    lecture_ids = serializers.ListField(
        child=serializers.UUIDField(), required=False, max_length=100
    )
    document_ids = serializers.ListField(
        child=serializers.UUIDField(), required=False, max_length=100
    )


class MessageCreateSerializer(serializers.Serializer):
    content = serializers.CharField(
        min_length=1, max_length=4000, trim_whitespace=True, validators=[no_control_characters]
    )
    scope = ScopeSerializer(required=False)


_STREAM_DESCRIPTION = (
    "Stores the question, finds the best passages of my material (the conversation's course, "
    "or `scope`) and streams the answer as Server-Sent Events in the AI SDK's UI message "
    "stream protocol (v1): `start`, one `data-source` per source, `text-start`, `text-delta` "
    "per token, `text-end`, `finish`, `data: [DONE]`; on a failure `error` then `finish` "
    "and `[DONE]`. With `Accept: application/json` (and no `text/event-stream`) the "
    "finished answer as JSON."
)


class ConversationViewSet(
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ConversationSerializer
    renderer_classes = [JSONRenderer, EventStreamRenderer]
    throttle_scopes = {"messages": "assistant_messages"}

    def get_queryset(self):
        return selectors.conversation_list(user=self.request.user)

    def handle_exception(self, exc: Exception) -> Response:
        # Errors are the JSON error body, whatever the client said it accepts.
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        services.assistant_check_enabled()

    @extend_schema(
        summary="My conversations with the assistant",
        description="Most recently updated first.",
        responses={200: ConversationSerializer(many=True), **error_responses(409)},
    )
    def list(self, request: Request, *args, **kwargs) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="Start a conversation",
        request=ConversationCreateSerializer,
        responses={201: ConversationSerializer, **error_responses(400, 409)},
    )
    def create(self, request: Request) -> Response:
        data = ConversationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        conversation = services.conversation_create(user=request.user, **data.validated_data)
        return Response(ConversationSerializer(conversation).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="A conversation with its messages",
        responses={200: ConversationDetailSerializer, **error_responses(404, 409)},
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        conversation = selectors.conversation_get(user=request.user, conversation_id=pk)
        services.answers_end_stale(conversation=conversation)
        return Response(ConversationDetailSerializer(conversation).data)

    @extend_schema(
        summary="Rename a conversation",
        request=ConversationRenameSerializer,
        responses={200: ConversationSerializer, **error_responses(400, 404, 409)},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        data = ConversationRenameSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        conversation = services.conversation_rename(
            user=request.user, conversation_id=pk, title=data.validated_data["title"]
        )
        return Response(ConversationSerializer(conversation).data)

    @extend_schema(
        summary="Delete a conversation and its messages",
        responses={204: OpenApiResponse(description="Deleted."), **error_responses(404, 409)},
    )
    def destroy(self, request: Request, pk: str) -> Response:
        services.conversation_delete(user=request.user, conversation_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Ask a question: the answer streams",
        description=_STREAM_DESCRIPTION,
        request=MessageCreateSerializer,
        responses={
            (200, events.CONTENT_TYPE): OpenApiResponse(
                OpenApiTypes.STR, description="The UI message stream (v1)."
            ),
            (200, "application/json"): MessageSerializer,
            **error_responses(400, 403, 404, 409),
        },
    )
    @action(detail=True, methods=["post"])
    def messages(self, request: Request, pk: str):
        data = MessageCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        scope = data.validated_data.get("scope") or {}
        answering = services.message_ask(
            user=request.user,
            conversation_id=pk,
            content=data.validated_data["content"],
            scope=Scope(
                course_id=scope.get("course_id"),
                lecture_ids=_ids(scope.get("lecture_ids")),
                document_ids=_ids(scope.get("document_ids")),
            ),
        )
        if request.accepted_renderer.media_type != events.CONTENT_TYPE and not _wants_stream(
            request
        ):
            for _ in services.answer_events(answering):
                pass
            return Response(MessageSerializer(answering.answer).data)
        response = StreamingHttpResponse(
            events.encoded(services.answer_events(answering)), content_type=events.CONTENT_TYPE
        )
        for name, value in events.HEADERS.items():
            response[name] = value
        return response


def _ids(values: list | None) -> tuple | None:
    return None if values is None else tuple(dict.fromkeys(values))


def _wants_stream(request: Request) -> bool:
    """The stream, unless the client asks for JSON and not for events (``*/*`` and no
    ``Accept`` at all are ``useChat``'s and curl's: the stream)."""
    accept = request.headers.get("Accept", "")
    return events.CONTENT_TYPE in accept or "application/json" not in accept
