"""Import endpoints (SPEC "Imports"). Thin: validate, resolve the company, call a service."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import authenticated_user
from common import uploads
from common.openapi import PAGINATION_PARAMETERS
from common.pagination import CursorPagination
from imports import selectors, services
from imports.api import serializers as s
from organizations import permissions
from organizations.api.scoping import request_membership


def _visible(request):
    user = authenticated_user(request)
    return selectors.import_list(memberships=list(permissions.active_memberships(user)), user=user)


def _job(request, import_id):
    job = _visible(request).filter(pk=import_id).first()
    if job is None:
        raise NotFound("No such import.")
    return job


@extend_schema(tags=["imports"])
class ImportListView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": s.ImportCreateSerializer},
        parameters=[OpenApiParameter("company", str, required=False)],
        responses={202: s.ImportSerializer},
    )
    def post(self, request):
        uploads.refuse_larger_than(
            request,
            uploads.import_request_bytes(),
            f"At most {settings.IMPORT_MAX_BYTES} bytes per import file (IMPORT_MAX_BYTES).",
        )
        membership = request_membership(request, create=True)
        uploads.one_file(request)
        body = s.ImportCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        job = services.import_request(
            membership=membership,
            fileobj=data["file"],
            source=data["source"],
            dry_run=data["dry_run"],
            tz=data.get("timezone"),
            date_format=data.get("date_format"),
            invite_unknown=data["invite_unknown"],
        )
        return Response(s.ImportSerializer(job).data, status=202)

    @extend_schema(
        operation_id="imports_list", parameters=PAGINATION_PARAMETERS, responses={200: s.ImportPageSerializer}
    )
    def get(self, request):
        paginator = CursorPagination()
        page = paginator.paginate_queryset(_visible(request), request, view=self)
        return paginator.get_paginated_response(s.ImportSerializer(page, many=True).data)


@extend_schema(tags=["imports"])
class ImportDetailView(APIView):
    @extend_schema(responses={200: s.ImportSerializer})
    def get(self, request, import_id):
        return Response(s.ImportSerializer(_job(request, import_id)).data)


@extend_schema(tags=["imports"])
class ImportCancelView(APIView):
    @extend_schema(request=None, responses={200: s.ImportSerializer})
    def post(self, request, import_id):
        """Stop an import that has not finished: it stops between chunks (what was written stays)."""
        job = services.import_cancel(job=_job(request, import_id))
        return Response(s.ImportSerializer(job).data)
