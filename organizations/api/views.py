"""Organizations endpoints (SPEC: REST API, Organizations). Thin: resolve the caller's
membership through the scoped base view, ask ``permissions``, call a service, render."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from common.openapi import gone, plan_limit
from organizations import permissions, selectors, services
from organizations.api import serializers as s
from organizations.api.scoping import COMPANY_PARAM, UUID_PATH, CompanyScopedViewSet
from organizations.models import Client, Company, Invitation, Project, Team

NO_CONTENT = OpenApiResponse(description="No content")
SEATS = plan_limit("The company's plan allows no more members (attr: members); pending invitations count.")
ARCHIVED_PARAM = OpenApiParameter(
    "archived", str, enum=["true", "false", "all"], description="Archived projects too (default false)."
)


# --------------------------------------------------------------------------- companies


@extend_schema(tags=["companies"])
class CompanyViewSet(CompanyScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    queryset = Company.objects.none()
    serializer_class = s.CompanySerializer

    def scoped_queryset(self, memberships):
        return selectors.company_list(memberships=memberships)

    @extend_schema(request=s.CompanyCreateSerializer, responses={201: s.CompanySerializer})
    def create(self, request):
        data = self.validated(s.CompanyCreateSerializer)
        company = services.company_create(owner=request.user, name=data["name"], timezone=data.get("timezone"))
        company.my_role = "OWNER"  # type: ignore[attr-defined]  # read by CompanySerializer
        return Response(s.CompanySerializer(company).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.CompanyUpdateSerializer,
        responses={
            200: s.CompanySerializer,
            402: plan_limit("screenshots_enabled on a plan without screenshots (attr: screenshots)."),
        },
    )
    def partial_update(self, request, pk=None):
        company = self.get_object()
        membership = self.membership_for(company)
        changes = self.validated(s.CompanyUpdateSerializer, partial=True)
        self.require(permissions.can_change_company_settings(membership))
        if "subscription_status" in changes:
            self.require(permissions.can_change_billing(membership), "Only an OWNER changes the billing status.")
        if "locked_until" in changes:
            self.require(permissions.can_lock_periods(membership), "Only an OWNER or ADMIN locks periods.")
        company = services.company_update(company=company, changes=changes, actor=request.user)
        company.my_role = membership.role  # type: ignore[attr-defined]  # read by CompanySerializer
        return Response(s.CompanySerializer(company).data)

    # ------------------------------------------------------------------ members

    @extend_schema(responses={200: s.MemberDetailSerializer(many=True)})
    @action(detail=True, methods=["get"], url_path="members")
    def members(self, request, pk=None):
        membership = self.membership_for(self.get_object())
        page = self.paginate_queryset(selectors.member_list(membership=membership))
        serializer = s.MemberDetailSerializer if permissions.can_manage_members(membership) else s.MemberSerializer
        return self.get_paginated_response(serializer(page, many=True).data)

    @extend_schema(
        methods=["PATCH"],
        request=s.MemberUpdateSerializer,
        responses={
            200: s.MemberDetailSerializer,
            402: plan_limit("screenshots_enabled on a plan without screenshots (attr: screenshots)."),
        },
    )
    @extend_schema(methods=["DELETE"], responses={204: NO_CONTENT})
    @action(detail=True, methods=["patch", "delete"], url_path=rf"members/(?P<user_id>{UUID_PATH})")
    def member_detail(self, request, pk=None, user_id=None):
        membership = self.membership_for(self.get_object())
        target = get_object_or_404(selectors.member_list(membership=membership), user_id=user_id)
        self.require(permissions.can_change_member(membership, target))
        if request.method == "DELETE":
            services.member_remove(membership=target, actor=request.user)
            return Response(status=status.HTTP_204_NO_CONTENT)
        changes = self.validated(s.MemberUpdateSerializer, partial=True)
        if "role" in changes:
            self.require(permissions.can_grant_role(membership, changes["role"]))
        target = services.member_update(membership=target, changes=changes, actor=request.user)
        return Response(s.MemberDetailSerializer(target).data)

    # ------------------------------------------------------------------ invitations

    @extend_schema(methods=["GET"], responses={200: s.InvitationSerializer(many=True)})
    @extend_schema(
        methods=["POST"],
        request=s.InvitationCreateSerializer,
        responses={201: s.InvitationCreatedSerializer, 402: SEATS},
    )
    @action(detail=True, methods=["get", "post"], url_path="invitations")
    def invitations(self, request, pk=None):
        company = self.get_object()
        membership = self.membership_for(company)
        self.require(permissions.can_manage_members(membership))
        if request.method == "GET":
            page = self.paginate_queryset(selectors.invitation_list(membership=membership))
            return self.get_paginated_response(s.InvitationSerializer(page, many=True).data)
        data = self.validated(s.InvitationCreateSerializer)
        self.require(permissions.can_grant_role(membership, data["role"]), "Only an OWNER invites OWNERs.")
        invitation, token = services.invitation_create(
            company=company, email=data["email"], role=data["role"], invited_by=request.user, request=request
        )
        # Shown once, in this answer only (only the token's hash is stored).
        invitation.token = token  # type: ignore[attr-defined]  # read by InvitationCreatedSerializer
        invitation.accept_url = services.accept_url(token, request=request)  # type: ignore[attr-defined]  # as above
        return Response(s.InvitationCreatedSerializer(invitation).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: NO_CONTENT})
    @action(detail=True, methods=["delete"], url_path=rf"invitations/(?P<invitation_id>{UUID_PATH})")
    def invitation_detail(self, request, pk=None, invitation_id=None):
        membership = self.membership_for(self.get_object())
        self.require(permissions.can_manage_members(membership))
        invitation = get_object_or_404(Invitation, company_id=membership.company_id, pk=invitation_id)
        services.invitation_revoke(invitation=invitation)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    tags=["companies"],
    request=None,
    responses={
        200: s.InvitationAcceptedSerializer,
        402: SEATS,
        410: gone("The invitation was used, revoked or has expired."),
    },
)
class InvitationAcceptView(APIView):
    """Any signed-in account may accept; the token alone grants the membership."""

    def post(self, request, token: str):
        membership = services.invitation_accept(token=token, user=request.user)
        company = membership.company
        company.my_role = membership.role  # type: ignore[attr-defined]  # read by CompanySerializer
        return Response({"company": s.CompanySerializer(company).data, "role": membership.role})


# --------------------------------------------------------------------------- teams


@extend_schema(tags=["teams"], parameters=[COMPANY_PARAM])
class TeamViewSet(CompanyScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    queryset = Team.objects.none()
    serializer_class = s.TeamSerializer

    def scoped_queryset(self, memberships):
        return selectors.team_list(memberships=memberships)

    @extend_schema(request=s.TeamCreateSerializer, responses={201: s.TeamSerializer})
    def create(self, request):
        membership = self.company_membership()
        self.require(permissions.can_manage_members(membership))
        team = services.team_create(company=membership.company, name=self.validated(s.TeamCreateSerializer)["name"])
        return Response(s.TeamSerializer(team).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.TeamWriteSerializer, responses={200: s.TeamSerializer})
    def partial_update(self, request, pk=None):
        team = self.get_object()
        self.require(permissions.can_manage_members(self.membership_for(team)))
        team = services.team_update(team=team, name=self.validated(s.TeamWriteSerializer)["name"])
        return Response(s.TeamSerializer(team).data)

    @extend_schema(responses={204: NO_CONTENT})
    def destroy(self, request, pk=None):
        team = self.get_object()
        self.require(permissions.can_manage_members(self.membership_for(team)))
        services.team_delete(team=team)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(methods=["GET"], responses={200: s.TeamMemberSerializer(many=True)})
    @extend_schema(methods=["POST"], request=s.TeamMemberAddSerializer, responses={201: s.TeamMemberSerializer})
    @action(detail=True, methods=["get", "post"], url_path="members")
    def members(self, request, pk=None):
        team = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(selectors.team_member_list(team=team))
            return self.get_paginated_response(s.TeamMemberSerializer(page, many=True).data)
        self.require(permissions.can_manage_members(self.membership_for(team)))
        data = self.validated(s.TeamMemberAddSerializer)
        member = services.team_member_add(team=team, user_id=data["user_id"], role=data["role"], actor=request.user)
        return Response(s.TeamMemberSerializer(member).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["PATCH"], request=s.TeamMemberUpdateSerializer, responses={200: s.TeamMemberSerializer})
    @extend_schema(methods=["DELETE"], responses={204: NO_CONTENT})
    @action(detail=True, methods=["patch", "delete"], url_path=rf"members/(?P<user_id>{UUID_PATH})")
    def member_detail(self, request, pk=None, user_id=None):
        team = self.get_object()
        self.require(permissions.can_manage_members(self.membership_for(team)))
        member = get_object_or_404(selectors.team_member_list(team=team), user_id=user_id)
        if request.method == "DELETE":
            services.team_member_remove(team_member=member, actor=request.user)
            return Response(status=status.HTTP_204_NO_CONTENT)
        role = self.validated(s.TeamMemberUpdateSerializer)["role"]
        member = services.team_member_update(team_member=member, role=role, actor=request.user)
        return Response(s.TeamMemberSerializer(member).data)


# --------------------------------------------------------------------------- clients


@extend_schema(tags=["clients"], parameters=[COMPANY_PARAM])
class ClientViewSet(CompanyScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    queryset = Client.objects.none()
    serializer_class = s.ClientSerializer

    def scoped_queryset(self, memberships):
        return selectors.client_list(memberships=memberships)

    @extend_schema(request=s.ClientCreateSerializer, responses={201: s.ClientSerializer})
    def create(self, request):
        membership = self.company_membership()
        self.require(permissions.can_manage_projects(membership))
        name = self.validated(s.ClientCreateSerializer)["name"]
        return Response(
            s.ClientSerializer(services.client_create(company=membership.company, name=name)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=s.ClientWriteSerializer, responses={200: s.ClientSerializer})
    def partial_update(self, request, pk=None):
        client = self.get_object()
        self.require(permissions.can_manage_projects(self.membership_for(client)))
        name = self.validated(s.ClientWriteSerializer)["name"]
        return Response(s.ClientSerializer(services.client_update(client=client, name=name)).data)

    @extend_schema(responses={204: NO_CONTENT})
    def destroy(self, request, pk=None):
        client = self.get_object()
        self.require(permissions.can_manage_projects(self.membership_for(client)))
        services.client_delete(client=client)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --------------------------------------------------------------------------- projects


# ?archived= filters the list only: documented on the list only (other actions ignore it).
@extend_schema_view(list=extend_schema(parameters=[ARCHIVED_PARAM]))
@extend_schema(tags=["projects"], parameters=[COMPANY_PARAM])
class ProjectViewSet(CompanyScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    queryset = Project.objects.none()
    serializer_class = s.ProjectSerializer

    def scoped_queryset(self, memberships):
        archived = self.request.query_params.get("archived", "false") if self.action == "list" else "all"
        if archived not in {"true", "false", "all"}:
            raise ValidationError({"archived": ["Use true, false or all."]})
        return selectors.project_list(memberships=memberships, archived=archived)

    def _reload(self, project: Project) -> Project:
        # Re-read through the selector so the response carries the computed fields.
        return selectors.project_list(memberships=self.memberships(), archived="all").get(pk=project.pk)

    @extend_schema(request=s.ProjectWriteSerializer, responses={201: s.ProjectSerializer})
    def create(self, request):
        membership = self.company_membership()
        self.require(permissions.can_manage_projects(membership))
        project = services.project_create(company=membership.company, data=self.validated(s.ProjectWriteSerializer))
        return Response(s.ProjectSerializer(self._reload(project)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ProjectUpdateSerializer, responses={200: s.ProjectSerializer})
    def partial_update(self, request, pk=None):
        project = self.get_object()
        self.require(permissions.can_manage_projects(self.membership_for(project)))
        data = self.validated(s.ProjectUpdateSerializer, partial=True)
        project = services.project_update(project=project, data=data)
        return Response(s.ProjectSerializer(self._reload(project)).data)

    @extend_schema(request=None, responses={200: s.ProjectSerializer})
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        project = self.get_object()
        self.require(permissions.can_manage_projects(self.membership_for(project)))
        return Response(s.ProjectSerializer(self._reload(services.project_archive(project=project))).data)

    @extend_schema(request=None, responses={200: s.ProjectSerializer})
    @action(detail=True, methods=["post"])
    def unarchive(self, request, pk=None):
        project = self.get_object()
        self.require(permissions.can_manage_projects(self.membership_for(project)))
        return Response(s.ProjectSerializer(self._reload(services.project_unarchive(project=project))).data)
