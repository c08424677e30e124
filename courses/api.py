"""``/api/courses``: the student's course list, the catalogue and enrolments."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.exceptions import ObjectNotFound
from core.openapi import error_responses
from core.validators import no_control_characters, uuid_or_404
from courses import selectors, services
from courses.models import TITLE_MAX_LENGTH, Course, course_code_problem, normalise_course_code


class CourseSerializer(serializers.ModelSerializer):
    enrolled = serializers.BooleanField(read_only=True, help_text="On the caller's list.")

    class Meta:
        model = Course
        fields = [
            "id",
            "code",
            "title",
            "instructor",
            "is_official",
            "enrolled",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CourseCreateSerializer(serializers.Serializer):
    code = serializers.CharField(
        max_length=200,
        help_text=(
            "e.g. `CSC 173`; Unicode (NFKC), invisible characters, case and spaces are "
            "normalised, then ASCII letters, digits, spaces and `&./-` only."
        ),
    )
    title = serializers.CharField(max_length=TITLE_MAX_LENGTH, validators=[no_control_characters])
    instructor = serializers.CharField(
        max_length=TITLE_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        validators=[no_control_characters],
    )

    def validate_code(self, value: str) -> str:
        code = normalise_course_code(value)
        problem = course_code_problem(code)
        if problem:
            raise serializers.ValidationError(problem)
        return code


class CourseSearchSerializer(serializers.Serializer):
    search = serializers.CharField(required=False, allow_blank=True, max_length=200)


class CatalogSearchSerializer(CourseSearchSerializer):
    official = serializers.BooleanField(required=False, allow_null=True, default=None)


_SEARCH = OpenApiParameter("search", str, description="Matches code or title.")
_OFFICIAL = OpenApiParameter("official", bool, description="Only official (or unofficial).")


class CourseViewSet(viewsets.GenericViewSet):
    serializer_class = CourseSerializer
    queryset = Course.objects.none()

    def _page(self, request: Request, queryset) -> Response:
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(CourseSerializer(page, many=True).data)

    @extend_schema(
        summary="My courses",
        parameters=[_SEARCH],
        responses={200: CourseSerializer(many=True), **error_responses(400)},
    )
    def list(self, request: Request) -> Response:
        query = CourseSearchSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return self._page(
            request, selectors.course_list_for_user(user=request.user, **query.validated_data)
        )

    @extend_schema(
        summary="The course catalogue",
        parameters=[_SEARCH, _OFFICIAL],
        responses={200: CourseSerializer(many=True), **error_responses(400)},
    )
    @action(detail=False, methods=["get"])
    def catalog(self, request: Request) -> Response:
        query = CatalogSearchSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return self._page(
            request, selectors.course_catalog(user=request.user, **query.validated_data)
        )

    @extend_schema(
        summary="Find a course by code or create it, and enrol in it",
        request=CourseCreateSerializer,
        responses={
            201: OpenApiResponse(CourseSerializer, description="A new course was created."),
            200: OpenApiResponse(CourseSerializer, description="The course already existed."),
            **error_responses(400),
        },
    )
    def create(self, request: Request) -> Response:
        body = CourseCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        course, created = services.course_get_or_create_and_enroll(
            user=request.user, **body.validated_data
        )
        return self._course_response(request, course.pk, created)

    @extend_schema(
        summary="A course of the catalogue",
        responses={200: CourseSerializer, **error_responses(404)},
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        return self._course_response(request, pk, False)

    @extend_schema(
        methods=["PUT"],
        summary="Add the course to my list",
        request=None,
        responses={
            201: OpenApiResponse(CourseSerializer, description="Enrolled."),
            200: OpenApiResponse(CourseSerializer, description="Was already enrolled."),
            **error_responses(404),
        },
    )
    @extend_schema(
        methods=["DELETE"],
        summary="Remove the course from my list (my documents and lectures stay)",
        request=None,
        responses={
            204: OpenApiResponse(description="Not enrolled (any more)."),
            **error_responses(404),
        },
    )
    @action(detail=True, methods=["put", "delete"])
    def enrollment(self, request: Request, pk: str) -> Response:
        course = self._course(request, pk)
        if request.method == "DELETE":
            services.enrollment_delete(user=request.user, course=course)
            return Response(status=status.HTTP_204_NO_CONTENT)
        created = services.enrollment_create(user=request.user, course=course)
        return self._course_response(request, course.pk, created)

    def _course(self, request: Request, pk) -> Course:
        course = selectors.course_get(user=request.user, course_id=uuid_or_404(pk))
        if course is None:
            raise ObjectNotFound()
        return course

    def _course_response(self, request: Request, pk, created: bool) -> Response:
        data = CourseSerializer(self._course(request, pk)).data
        return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
