"""``GET /api/search``: the caller's lectures and documents, searched at once, by words, by
meaning or both (``?mode=``)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from core.openapi import error_responses
from core.validators import no_control_characters
from search.passage_search import CANDIDATES, NEAREST
from search.selectors import MODES, search_material

Q_MAX_LENGTH = 200


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        max_length=Q_MAX_LENGTH, trim_whitespace=True, validators=[no_control_characters]
    )
    course_id = serializers.UUIDField(required=False)
    type = serializers.ChoiceField(choices=["lecture", "document"], required=False)
    mode = serializers.ChoiceField(choices=MODES, required=False)


class SearchHitSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["lecture", "document"])
    id = serializers.UUIDField(help_text="The lecture's or the document's id.")
    course_id = serializers.UUIDField()
    title = serializers.CharField(
        allow_blank=True,
        help_text=(
            'The lecture\'s title, as its own body gives it ("" when it has none), or the '
            "document's file name."
        ),
    )
    start = serializers.FloatField(
        allow_null=True,
        help_text=(
            "Lecture hits: where the segment (`text`) or the passage (`semantic`, `hybrid`) "
            "starts, in seconds."
        ),
    )
    end = serializers.FloatField(allow_null=True, help_text="Lecture hits: where it ends.")
    page = serializers.IntegerField(allow_null=True, help_text="Document hits: the page, from 1.")
    snippet = serializers.CharField(
        help_text=(
            "Text around the match (or the passage's best sentence), HTML-escaped, matched "
            "words in `<mark>`…`</mark>`; no `<mark>` when no word matched."
        )
    )
    rank = serializers.FloatField(
        help_text=(
            "Relevance, higher first: `ts_rank` (`text`), cosine similarity (`semantic`), "
            "the reciprocal rank fusion score (`hybrid`)."
        )
    )


@extend_schema_serializer(many=False)  # a page of hits with its mode, not a list to paginate
class SearchPageSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(
        choices=MODES,
        help_text=(
            "The mode that ran: `text` wherever embeddings are off (no pgvector, "
            "`EMBEDDINGS_BACKEND=none`), whatever was asked."
        ),
    )
    degraded = serializers.BooleanField(
        required=False,
        help_text=(
            "Present, `true`, only when `semantic` or `hybrid` was asked and the embeddings "
            "provider failed: the answer is `text`."
        ),
    )
    count = serializers.IntegerField(
        help_text=(
            f"Hits in all: `semantic` ranks the {NEAREST} passages nearest in meaning, "
            f"`hybrid` fuses the {CANDIDATES} nearest with the {CANDIDATES} best matches of "
            "the words."
        )
    )
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = SearchHitSerializer(many=True)


class SearchViewSet(viewsets.GenericViewSet):
    serializer_class = SearchPageSerializer

    @extend_schema(
        summary="Search my lectures' transcripts and my documents' text",
        description=(
            '`q` reads like a web search box: words, `"quoted phrases"`, `-excluded`, '
            "`or`; words match their other forms (`arrays` finds `array`). Only the "
            "caller's material: documents they own, lectures they are linked to. Ordered "
            "by relevance. `mode=semantic` finds passages by meaning, `mode=hybrid` (the "
            "default where embeddings are on) by words and meaning; each is answered as "
            "`text` where embeddings are off, and when the embeddings provider fails "
            "(`degraded`)."
        ),
        parameters=[
            OpenApiParameter(
                "q",
                OpenApiTypes.STR,
                required=True,
                description="1 to 200 characters once trimmed.",
            ),
            OpenApiParameter("course_id", OpenApiTypes.UUID, description="Only this course."),
            OpenApiParameter(
                "type", OpenApiTypes.STR, enum=["lecture", "document"], description="One kind."
            ),
            OpenApiParameter(
                "mode",
                OpenApiTypes.STR,
                enum=list(MODES),
                description=(
                    "`text` (words in transcript segments and document pages), `semantic` "
                    "(passages nearest in meaning) or `hybrid` (passages by both, fused); "
                    "default `hybrid` where embeddings are on, else `text`."
                ),
            ),
        ],
        responses={200: SearchPageSerializer, **error_responses(400)},
    )
    def list(self, request: Request) -> Response:
        query = SearchQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        paginator = self.paginator
        paginator.request = request
        paginator.limit = paginator.get_limit(request)
        paginator.offset = paginator.get_offset(request)
        found = search_material(
            user=request.user,
            q=query.validated_data["q"],
            course_id=query.validated_data.get("course_id"),
            kind=query.validated_data.get("type"),
            mode=query.validated_data.get("mode"),
            limit=paginator.limit,
            offset=paginator.offset,
        )
        paginator.count = found.count
        body = {
            "mode": found.mode,
            "count": found.count,
            "next": paginator.get_next_link(),
            "previous": paginator.get_previous_link(),
            "results": found.hits,
        }
        if found.degraded:
            body["degraded"] = True
        return Response(SearchPageSerializer(body).data)
