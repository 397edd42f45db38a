"""The one way to scope an API view to the caller's companies (ARCHITECTURE: 5).

Querysets fail closed: a view defines ``scoped_queryset(memberships)`` and gets nothing when
the caller has no active membership. Another company's id is therefore simply absent: 404,
the same as an id that never existed. Memberships are read from the database on each request
(one query), so a removed member loses access on their next request, token or not."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import viewsets
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError

from organizations import permissions
from organizations.models import Membership

# A UUID as a path segment: anything else matches no route, so a malformed id is a 404 before
# any view runs and never reaches the database (where it would be a DataError: a 500).
UUID_PATH = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

COMPANY_PARAM = OpenApiParameter(
    "company",
    OpenApiTypes.UUID,
    description="Limit to one of your companies (required to create when you have several).",
)


def company_membership(memberships: list[Membership], raw_company: str | None) -> Membership:
    """The membership a request acts in: ``?company=`` (``raw_company``), or the caller's only
    company. Not a member of it, or a malformed id: 404; several companies and none named: 400."""
    company_id = None
    # Present but empty (`?company=`) is malformed like any other non-UUID, not "unspecified".
    if raw_company is not None:
        try:
            company_id = uuid.UUID(raw_company)
        except ValueError:
            raise NotFound("No such company.") from None
    if company_id is None:
        if len(memberships) == 1:
            return memberships[0]
        if not memberships:
            raise NotFound("You are not a member of any company.")
        raise ValidationError({"company": ["You belong to several companies: say which with ?company=."]})
    for membership in memberships:
        if membership.company_id == company_id:
            return membership
    raise NotFound("No such company.")


class CompanyScopedViewSet(viewsets.GenericViewSet):
    lookup_value_regex = UUID_PATH  # the router's {pk}; nested ids use UUID_PATH too

    def scoped_queryset(self, memberships: list[Membership]) -> QuerySet:
        raise NotImplementedError  # fail closed: no selector, no rows

    # ------------------------------------------------------------------ memberships

    def memberships(self) -> list[Membership]:
        if not hasattr(self, "_memberships"):
            self._memberships = list(permissions.active_memberships(self.request.user))
        return self._memberships

    def company_membership(self) -> Membership:
        """The membership a list filter or a create acts in: ``?company=``, or the caller's
        only company. Not a member of it: 404."""
        return company_membership(self.memberships(), self.request.query_params.get("company"))

    def membership_for(self, obj) -> Membership:
        """The caller's membership in the company that owns ``obj`` (which came from the scoped
        queryset, so it exists)."""
        company_id = getattr(obj, "company_id", None) or obj.pk
        for membership in self.memberships():
            if membership.company_id == company_id:
                return membership
        raise NotFound()

    # ------------------------------------------------------------------ queryset, checks

    def get_queryset(self):
        memberships = self.memberships()
        if "company" in self.request.query_params:
            memberships = [self.company_membership()]
        if not memberships:
            return self.queryset.none()  # each view sets queryset = Model.objects.none()
        return self.scoped_queryset(memberships)

    def validated(self, serializer_class, *, partial: bool = False) -> dict:
        """The request body, validated by ``serializer_class`` (400 in the standard shape)."""
        serializer = serializer_class(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @staticmethod
    def require(allowed: bool, message: str = "Your role does not allow this.") -> None:
        if not allowed:
            raise PermissionDenied(message)
