"""Screenshot endpoints (SPEC: Screenshots). Thin: scope, validate, call services."""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import authenticated_user
from common import parsers, uploads
from common.exceptions import PayloadTooLarge
from common.openapi import SIGNED_LINK_TOKEN, gone, plan_limit
from common.query import validated_query
from common.signed_links import link_value
from organizations import permissions
from organizations.api.scoping import COMPANY_PARAM, CompanyScopedViewSet
from screenshots import selectors, services
from screenshots.api import serializers as s
from screenshots.models import Screenshot

NO_SCREENSHOTS = plan_limit("The company's plan does not include screenshots (attr: screenshots).")


@extend_schema_view(list=extend_schema(parameters=[s.ScreenshotQuerySerializer]))
@extend_schema(tags=["screenshots"], parameters=[COMPANY_PARAM])
class ScreenshotViewSet(CompanyScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """A MEMBER sees their own, a LEAD their teams', OWNER, ADMIN and MANAGER the company's."""

    queryset = Screenshot.objects.none()
    serializer_class = s.ScreenshotLinksSerializer
    parser_classes = [MultiPartParser, FormParser]

    def scoped_queryset(self, memberships):
        query = validated_query(self.request, s.ScreenshotQuerySerializer)
        filters = selectors.ScreenshotFilters(
            user=query.get("user"), captured_from=query.get("from"), captured_to=query.get("to")
        )
        return selectors.screenshot_list(memberships=memberships, filters=filters)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "request": self.request}

    def retrieve(self, request, pk=None):
        """One screenshot with its links: opening someone else's is in their audit trail."""
        screenshot = self.get_object()
        services.screenshot_viewed(screenshot=screenshot, viewer=authenticated_user(request))
        return Response(self.get_serializer(screenshot).data)

    # A file travels as multipart only (FormParser is there for DRF's browsable forms, not clients).
    @extend_schema(
        request={"multipart/form-data": s.ScreenshotUploadSerializer},
        responses={201: s.ScreenshotSerializer, 402: NO_SCREENSHOTS},
    )
    def create(self, request):
        uploads.refuse_larger_than(
            request,
            uploads.screenshot_request_bytes(),
            f"At most {settings.SCREENSHOT_MAX_BYTES} bytes per screenshot.",
        )
        membership = self.company_membership()
        uploads.one_file(request)
        data = self.validated(s.ScreenshotUploadSerializer)
        screenshot = services.screenshot_upload(
            membership=membership,
            fileobj=data["file"],
            captured_at=data["captured_at"],
            time_entry_id=data.get("time_entry_id"),
            metadata=data.get("metadata"),
        )
        return Response(s.ScreenshotSerializer(screenshot).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ScreenshotPresignSerializer, responses={201: s.PresignedSerializer, 402: NO_SCREENSHOTS})
    @action(detail=False, methods=["post"], parser_classes=[parsers.JSONParser])
    def presign(self, request):
        """Step 1 of an upload without multipart: a signed, single-use PUT link of ours."""
        membership = self.company_membership()
        data = self.validated(s.ScreenshotPresignSerializer)
        screenshot = services.screenshot_presign(
            membership=membership,
            captured_at=data["captured_at"],
            content_type=data["content_type"],
            size=data["size"],
            time_entry_id=data.get("time_entry_id"),
            metadata=data.get("metadata"),
        )
        upload = services.upload_instructions(screenshot, absolute=request.build_absolute_uri)
        body = {"id": screenshot.pk, "upload": upload, "expires_at": screenshot.upload_expires_at}
        return Response(s.PresignedSerializer(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={202: s.ScreenshotSerializer})
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        """Step 3: the upload arrived; check it against the declaration and process it."""
        screenshot = self.get_object()
        self.require(str(screenshot.user_id) == str(request.user.pk), "Only the uploader confirms an upload.")
        screenshot = services.screenshot_confirm(screenshot=screenshot)
        return Response(s.ScreenshotSerializer(screenshot).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={204: OpenApiResponse(description="Deleted with its files")})
    def destroy(self, request, pk=None):
        screenshot = self.get_object()
        self.require(
            permissions.can_delete_screenshot(
                self.membership_for(screenshot),
                owner_id=screenshot.user_id,
                uploaded_at=screenshot.created_at,
                now=timezone.now(),
            ),
            "Only OWNER and ADMIN delete others' screenshots; yours only within 10 minutes of upload.",
        )
        services.screenshot_delete(screenshot=screenshot)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ScreenshotFileView(APIView):
    """The processed image or thumbnail, for a link from the API not older than
    SCREENSHOT_LINK_SECONDS: the signature (of this screenshot and variant) is the credential."""

    authentication_classes: list = []
    permission_classes: list = []

    @extend_schema(
        tags=["screenshots"],
        operation_id="screenshots_file",
        parameters=[
            SIGNED_LINK_TOKEN,
            OpenApiParameter("variant", str, OpenApiParameter.PATH, enum=["image", "thumbnail"]),
            OpenApiParameter("screenshot_id", OpenApiTypes.UUID, OpenApiParameter.PATH),
        ],
        responses={(200, "image/webp"): OpenApiResponse(OpenApiTypes.BINARY, description="The image")},
    )
    def get(self, request, screenshot_id, variant):
        signed = link_value(request, salt="screenshot", max_age=settings.SCREENSHOT_LINK_SECONDS)
        screenshot = Screenshot.objects.filter(pk=screenshot_id, status="READY").first()
        if screenshot is None or signed != f"{screenshot.pk}:{variant}":
            raise NotFound("No such screenshot.")
        key = screenshot.image_key if variant == "image" else screenshot.thumbnail_key
        return FileResponse(default_storage.open(key, "rb"), content_type="image/webp")


class ScreenshotUploadView(APIView):
    """Step 2 of the presigned flow: ``PUT`` the file's bytes to the link ``presign`` gave.
    The signature (of this screenshot, 15 minutes) is the credential; the body is read in
    chunks and must be exactly the declared size; the link works once."""

    authentication_classes: list = []
    permission_classes: list = []
    parser_classes: list = []  # the body is the file: read raw, in chunks

    @extend_schema(
        tags=["screenshots"],
        operation_id="screenshots_upload",
        parameters=[SIGNED_LINK_TOKEN],
        # The body is the file's bytes, of the type declared to presign.
        request=dict.fromkeys(("image/png", "image/jpeg", "image/webp"), OpenApiTypes.BINARY),
        responses={
            204: OpenApiResponse(description="Stored; now confirm it"),
            410: gone("The upload link has expired: presign again."),
        },
    )
    def put(self, request, screenshot_id):
        signed = link_value(request, salt=services.UPLOAD_LINK_SALT, max_age=services.UPLOAD_SECONDS)
        screenshot = Screenshot.objects.filter(pk=screenshot_id).first()
        if screenshot is None or signed != str(screenshot.pk):
            raise NotFound("No such screenshot.")
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > settings.SCREENSHOT_MAX_BYTES:
            raise PayloadTooLarge(f"At most {settings.SCREENSHOT_MAX_BYTES} bytes per screenshot.")
        services.screenshot_receive_upload(screenshot=screenshot, stream=request._request, content_length=length)
        return Response(status=status.HTTP_204_NO_CONTENT)
