"""``GET /api/search``: the caller's lectures and documents, searched at once."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from core.openapi import error_responses
from core.validators import no_control_characters
from search.selectors import search_material

Q_MAX_LENGTH = 200


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        max_length=Q_MAX_LENGTH, trim_whitespace=True, validators=[no_control_characters]
    )
    course_id = serializers.UUIDField(required=False)
    type = serializers.ChoiceField(choices=["lecture", "document"], required=False)


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
        allow_null=True, help_text="Lecture hits: where the segment starts, in seconds."
    )
    end = serializers.FloatField(allow_null=True, help_text="Lecture hits: where it ends.")
    page = serializers.IntegerField(allow_null=True, help_text="Document hits: the page, from 1.")
    snippet = serializers.CharField(
        help_text="Text around the match, HTML-escaped, matched words in `<mark>`…`</mark>`."
    )
    rank = serializers.FloatField(help_text="Relevance: higher first.")


class SearchViewSet(viewsets.GenericViewSet):
    serializer_class = SearchHitSerializer

    @extend_schema(
        summary="Search my lectures' transcripts and my documents' text",
        description=(
            '`q` reads like a web search box: words, `"quoted phrases"`, `-excluded`, '
            "`or`; words match their other forms (`arrays` finds `array`). Only the "
            "caller's material: documents they own, lectures they are linked to. Ordered "
            "by relevance."
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
        ],
        responses={200: SearchHitSerializer(many=True), **error_responses(400)},
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
            limit=paginator.limit,
            offset=paginator.offset,
        )
        paginator.count = found.count
        return paginator.get_paginated_response(SearchHitSerializer(found.hits, many=True).data)
