"""``/api/documents``: PDF upload, listing, metadata, the file itself, its text, deletion."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from core.conditional import ConditionalGetMixin
from core.exceptions import ObjectNotFound
from core.files import IgnoreAcceptNegotiation, stored_file_response
from core.openapi import (
    CONDITIONAL_PARAMETERS,
    FILE_PARAMETERS,
    conditional_responses,
    error_responses,
    file_responses,
)
from core.validators import uuid_or_404
from documents import selectors, services
from documents.models import PDF_CONTENT_TYPE, PUBLIC_TEXT_STATUSES, Document, TextStatus
from documents.uploads import read_pdf_upload


class DocumentSerializer(serializers.ModelSerializer):
    course_id = serializers.UUIDField(read_only=True)
    filename = serializers.CharField(
        source="original_filename", read_only=True, help_text="The uploaded file's name."
    )
    content_type = serializers.SerializerMethodField()
    # The text's state is a row of its own (``document.text``), read along with the document.
    text_status = serializers.ChoiceField(
        source="text.public_status",
        choices=PUBLIC_TEXT_STATUSES,
        read_only=True,
        help_text="`pending` until the text job has run, then `completed` or `failed`.",
    )
    page_count = serializers.IntegerField(
        source="text.page_count",
        read_only=True,
        allow_null=True,
        help_text="Pages whose text was extracted (null until `completed`).",
    )
    text_error = serializers.CharField(
        source="text.error_message",
        read_only=True,
        help_text="Why the text failed; for a completed text, what the limits left out.",
    )
    updated_at = serializers.DateTimeField(
        source="changed_at", read_only=True, help_text="When the document or its text changed."
    )

    class Meta:
        model = Document
        fields = [
            "id",
            "course_id",
            "filename",
            "size_bytes",
            "content_type",
            "text_status",
            "page_count",
            "text_error",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_content_type(self, document: Document) -> str:
        return PDF_CONTENT_TYPE


class DocumentPageSerializer(serializers.Serializer):
    page = serializers.IntegerField(help_text="From 1.")
    text = serializers.CharField()


class DocumentTextSerializer(serializers.Serializer):
    document_id = serializers.UUIDField()
    status = serializers.CharField(help_text="`completed` (the only status with a text).")
    page_count = serializers.IntegerField()
    pages = DocumentPageSerializer(many=True)


class DocumentTextQuerySerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=["json", "txt"], required=False, default="json")


class DocumentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="A PDF: the name ends in `.pdf` and the bytes start with `%PDF-`."
    )
    course_id = serializers.UUIDField(help_text="One of the caller's courses.")


class DocumentFilterSerializer(serializers.Serializer):
    course_id = serializers.UUIDField(required=False)


_COURSE_FILTER = OpenApiParameter("course_id", OpenApiTypes.UUID, description="Only this course.")


class DocumentViewSet(ConditionalGetMixin, viewsets.GenericViewSet):
    serializer_class = DocumentSerializer
    queryset = Document.objects.none()
    # Clients poll a new document until its text is done (core.conditional).
    conditional_actions = ("retrieve",)
    throttle_scopes = {"upload": "document_uploads"}

    @extend_schema(
        summary="My documents",
        parameters=[_COURSE_FILTER],
        responses={200: DocumentSerializer(many=True), **error_responses(400)},
    )
    def list(self, request: Request) -> Response:
        query = DocumentFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        documents = selectors.document_list_for_user(user=request.user, **query.validated_data)
        page = self.paginate_queryset(documents)
        return self.get_paginated_response(DocumentSerializer(page, many=True).data)

    @extend_schema(
        summary="Upload a PDF into one of my courses",
        description=(
            "Streamed: the size limit is enforced while reading and the SHA-256 computed on "
            "the way. The same bytes uploaded again into the same course answer the "
            "existing document with 200."
        ),
        request={"multipart/form-data": DocumentUploadSerializer},
        responses={
            201: OpenApiResponse(DocumentSerializer, description="Stored."),
            200: OpenApiResponse(DocumentSerializer, description="Already uploaded: as it is."),
            **error_responses(400, 403, 413, 415, 503),
        },
    )
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser])
    def upload(self, request: Request) -> Response:
        read_pdf_upload(request)
        body = DocumentUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        upload = body.validated_data["file"]
        document, created = services.document_upload(
            owner=request.user,
            course_id=body.validated_data["course_id"],
            file=upload,
            filename=upload.name,
            size=upload.size,
            sha256=getattr(upload, "sha256", None),
        )
        return Response(
            DocumentSerializer(document).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        summary="A document's metadata",
        parameters=CONDITIONAL_PARAMETERS,
        responses={
            **conditional_responses(DocumentSerializer, "The document."),
            **error_responses(404),
        },
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(DocumentSerializer(self._own_document(request, pk)).data)

    @extend_schema(
        summary="The PDF itself",
        description=(
            "Streamed with `Content-Disposition` (the original name, RFC 6266/5987), an "
            "`ETag` and `Range` support."
        ),
        parameters=FILE_PARAMETERS,
        responses=file_responses(PDF_CONTENT_TYPE, "The file."),
    )
    @action(detail=True, methods=["get"], content_negotiation_class=IgnoreAcceptNegotiation)
    def file(self, request: Request, pk: str):
        document = self._own_document(request, pk)
        return stored_file_response(request, document.stored_file())

    @extend_schema(
        summary="The document's text, page by page",
        description=(
            "Extracted after the upload (no OCR: a scanned page without a text layer is "
            "empty). `?format=txt` answers `text/plain; charset=utf-8`, the pages separated "
            "by form feeds. 409 `text_not_ready` until the text is `completed`."
        ),
        parameters=[
            OpenApiParameter(
                "format",
                OpenApiTypes.STR,
                enum=["json", "txt"],
                description="`json` (default) or `txt`.",
            )
        ],
        responses={
            (200, "application/json"): DocumentTextSerializer,
            (200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="The pages."),
            **error_responses(400, 404, 409),
        },
    )
    @action(detail=True, methods=["get"], content_negotiation_class=IgnoreAcceptNegotiation)
    def text(self, request: Request, pk: str):
        document = self._own_document(request, pk)
        query = DocumentTextQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        pages = selectors.document_text_pages(document=document)
        if query.validated_data["format"] == "txt":
            # Form feed: the page break of plain text, which stored text never contains.
            body = "\f".join(text for _number, text in pages)
            return HttpResponse(body, content_type="text/plain; charset=utf-8")
        return Response(
            {
                "document_id": document.id,
                "status": TextStatus.COMPLETED.value,
                "page_count": document.text.page_count or 0,
                "pages": [{"page": number, "text": text} for number, text in pages],
            }
        )

    @extend_schema(
        summary="Delete a document and its file (owner, or an admin)",
        responses={204: OpenApiResponse(description="Deleted."), **error_responses(404)},
    )
    def destroy(self, request: Request, pk: str) -> Response:
        document = selectors.document_get_for_delete(user=request.user, document_id=uuid_or_404(pk))
        if document is None:
            raise ObjectNotFound()
        services.document_delete(document=document)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _own_document(self, request: Request, pk: str) -> Document:
        document = selectors.document_get_for_user(user=request.user, document_id=uuid_or_404(pk))
        if document is None:
            raise ObjectNotFound()
        return document
