"""Activity endpoints (SPEC: Sync, heartbeats and activity; Privacy rules). Thin: scope,
ask ``permissions``, call a service, render. ``POST /sync/heartbeats`` is also answered on
the event loop by ``activity.intake`` when the request is ordinary (docs/activity.md)."""

from __future__ import annotations

from collections.abc import Callable

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from activity import heartbeats, samples, schema, selectors, services
from activity.api import serializers as s
from activity.models import PrivacyRule
from common.throttling import SyncThrottle
from organizations import permissions
from organizations.api.scoping import COMPANY_PARAM, CompanyScopedViewSet, request_membership


class _IntakeView(APIView):
    """202 intake of a tracker's batch (heartbeats, activity samples): refuse an oversize batch
    before validating it (413, nothing stored), resolve the company, hand the body to ``accept``."""

    throttle_classes = [SyncThrottle]
    accepts_ingest_tokens = True  # a tracker's personal token with the ingest scope may send here
    body: schema.Obj  # the one schema (activity/schema.py): its size here, the rest in ``accept``
    accept: Callable[..., int]  # a service taking (membership=, data=) and returning how many it accepted

    def post(self, request: Request) -> Response:
        self.body.check_size(request.data)
        membership = request_membership(request)
        return Response({"accepted": type(self).accept(membership=membership, data=request.data)}, status=202)


@extend_schema_view(
    post=extend_schema(
        tags=["sync"],
        request=s.HeartbeatBatchSerializer,
        parameters=[s.CompanyQuerySerializer],
        responses={202: s.AcceptedSerializer, 413: OpenApiResponse(description=s.too_many(schema.HEARTBEAT_BATCH))},
    )
)
class HeartbeatsView(_IntakeView):
    body, accept = schema.HEARTBEAT_BATCH, heartbeats.heartbeats_accept


@extend_schema_view(
    post=extend_schema(
        tags=["sync"],
        request=s.ActivityBatchSerializer,
        parameters=[s.CompanyQuerySerializer],
        responses={202: s.AcceptedSerializer, 413: OpenApiResponse(description=s.too_many(schema.ACTIVITY_BATCH))},
    )
)
class ActivityView(_IntakeView):
    body, accept = schema.ACTIVITY_BATCH, samples.activity_accept


@extend_schema(tags=["privacy"], parameters=[COMPANY_PARAM])
class PrivacyRuleViewSet(CompanyScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Rules applied to heartbeats at intake (drop or redact), per company; OWNER and ADMIN
    only: other members see none and get 404 for their ids."""

    queryset = PrivacyRule.objects.none()
    serializer_class = s.PrivacyRuleSerializer

    def scoped_queryset(self, memberships):
        return selectors.privacy_rule_list(memberships=memberships)

    @extend_schema(request=s.PrivacyRuleWriteSerializer, responses={201: s.PrivacyRuleSerializer})
    def create(self, request):
        membership = self.company_membership()
        self.require(permissions.can_manage_privacy_rules(membership))
        rule = services.privacy_rule_create(
            company=membership.company, actor=request.user, **self.validated(s.PrivacyRuleWriteSerializer)
        )
        return Response(s.PrivacyRuleSerializer(rule).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.PrivacyRuleUpdateSerializer, responses={200: s.PrivacyRuleSerializer})
    def partial_update(self, request, pk=None):
        rule = self.get_object()
        data = self.validated(s.PrivacyRuleUpdateSerializer, partial=True)
        rule = services.privacy_rule_update(rule=rule, data=data, actor=request.user)
        return Response(s.PrivacyRuleSerializer(rule).data)

    @extend_schema(responses={204: OpenApiResponse(description="Deleted")})
    def destroy(self, request, pk=None):
        services.privacy_rule_delete(rule=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
