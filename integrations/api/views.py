"""The audit log's API (SPEC: "Timesheets, locked periods and the audit log"): read only.
Nothing here, nor anywhere, writes a row but ``audit.recording.record`` (and the retention
purge); the database refuses the rest. And the webhooks' API (SPEC: "Webhooks"): thin, the
rules are ``integrations.services``'."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from audit.models import AuditEntry
from common.openapi import plan_limit
from common.pagination import CursorPagination
from common.query import validated_query
from integrations import selectors, services
from integrations.api import serializers as s
from integrations.models import WebhookEndpoint
from organizations import permissions
from organizations.api.scoping import COMPANY_PARAM, UUID_PATH, CompanyScopedViewSet


class AuditPagination(CursorPagination):
    # The log's own order (and its indexes): when it happened, ties by the time-ordered id.
    ordering = ("-at", "-id")


@extend_schema(tags=["audit"], parameters=[COMPANY_PARAM])
class AuditLogViewSet(CompanyScopedViewSet, mixins.ListModelMixin):
    """One company's log, newest first: the whole of it for an OWNER or ADMIN; with
    ``?mine=true``, for any member, what others did to their data."""

    queryset = AuditEntry.objects.none()
    serializer_class = s.AuditEntrySerializer
    pagination_class = AuditPagination

    def scoped_queryset(self, memberships):
        # The log is read in one company at a time (``list`` resolves it): never across all
        # of the caller's companies, whatever a generic caller of get_queryset expects.
        return AuditEntry.objects.none()

    @extend_schema(parameters=[s.AuditQuerySerializer])
    def list(self, request):
        membership = self.company_membership()
        query = validated_query(request, s.AuditQuerySerializer)
        filters = selectors.AuditFilters(
            mine=query["mine"],
            actor=query.get("actor"),
            target_type=query.get("target_type"),
            target_id=query.get("target_id"),
            action=query.get("action"),
            at_from=query.get("from"),
            at_to=query.get("to"),
        )
        page = self.paginate_queryset(selectors.audit_log_list(membership=membership, filters=filters))
        return self.get_paginated_response(s.AuditEntrySerializer(page, many=True).data)


# --------------------------------------------------------------------------- webhooks


@extend_schema(tags=["webhooks"], parameters=[COMPANY_PARAM])
class WebhookEndpointViewSet(CompanyScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """A company's webhook endpoints (SPEC "Webhooks", docs/webhooks.md): OWNER and ADMIN only
    (403 for other members; another company's ids are 404). The secret is in the answers of
    create and rotate-secret only."""

    queryset = WebhookEndpoint.objects.none()
    serializer_class = s.WebhookEndpointSerializer

    def scoped_queryset(self, memberships):
        return selectors.webhook_endpoints_of(memberships=memberships)

    def get_object(self):
        endpoint = super().get_object()
        self.require(
            permissions.can_manage_webhooks(self.membership_for(endpoint)),
            "Only an OWNER or ADMIN manages the company's webhooks.",
        )
        return endpoint

    def list(self, request):
        page = self.paginate_queryset(selectors.webhook_endpoint_list(membership=self.company_membership()))
        return self.get_paginated_response(s.WebhookEndpointSerializer(page, many=True).data)

    @extend_schema(
        request=s.WebhookEndpointCreateSerializer,
        responses={
            201: s.WebhookEndpointWithSecretSerializer,
            402: plan_limit("The company's plan allows no more webhook endpoints (attr: webhooks)."),
        },
    )
    def create(self, request):
        membership = self.company_membership()
        self.require(
            permissions.can_manage_webhooks(membership), "Only an OWNER or ADMIN manages the company's webhooks."
        )
        endpoint = services.endpoint_create(
            company=membership.company, actor=request.user, **self.validated(s.WebhookEndpointCreateSerializer)
        )
        return Response(s.WebhookEndpointWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.WebhookEndpointUpdateSerializer, responses={200: s.WebhookEndpointSerializer})
    def partial_update(self, request, pk=None):
        endpoint = self.get_object()
        data = self.validated(s.WebhookEndpointUpdateSerializer, partial=True)
        endpoint = services.endpoint_update(endpoint=endpoint, data=data, actor=request.user)
        return Response(s.WebhookEndpointSerializer(endpoint).data)

    @extend_schema(responses={204: OpenApiResponse(description="Deleted, with its delivery log")})
    def destroy(self, request, pk=None):
        services.endpoint_delete(endpoint=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: s.WebhookEndpointWithSecretSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        endpoint = services.endpoint_rotate_secret(endpoint=self.get_object(), actor=request.user)
        return Response(s.WebhookEndpointWithSecretSerializer(endpoint).data)

    @extend_schema(
        request=None,
        responses={201: OpenApiResponse(s.WebhookDeliverySerializer, description="Sent: the logged delivery")},
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        delivery = services.endpoint_test(endpoint=self.get_object())
        return Response(s.WebhookDeliverySerializer(delivery).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: s.WebhookDeliverySerializer(many=True)})
    @action(detail=True, methods=["get"], serializer_class=s.WebhookDeliverySerializer)
    def deliveries(self, request, pk=None):
        page = self.paginate_queryset(selectors.webhook_delivery_list(endpoint=self.get_object()))
        return self.get_paginated_response(s.WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(
        request=None,
        parameters=[OpenApiParameter("delivery_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
        responses={202: OpenApiResponse(s.WebhookDeliverySerializer, description="Queued: the PENDING delivery")},
    )
    @action(detail=True, methods=["post"], url_path=f"deliveries/(?P<delivery_id>{UUID_PATH})/redeliver")
    def redeliver(self, request, pk=None, delivery_id=None):
        delivery = get_object_or_404(selectors.webhook_delivery_list(endpoint=self.get_object()), pk=delivery_id)
        delivery = services.delivery_redeliver(delivery=delivery)
        return Response(s.WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
