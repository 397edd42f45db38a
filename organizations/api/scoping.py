"""The one way to scope an API view to the caller's companies (ARCHITECTURE: 5).

Querysets fail closed: a view defines ``scoped_queryset(memberships)`` and gets nothing when
the caller has no active membership. Another company's id is therefore simply absent: 404,
the same as an id that never existed. Memberships are read from the database on each request
(one query), so a removed member loses access on their next request, token or not."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers, viewsets
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError

from accounts.authentication import authenticated_user
from common.serializers import InputSerializer
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


# ``body_company`` when the body names no company (no ``company_id`` key).
ABSENT = object()


def _body_company_id(raw) -> uuid.UUID | None:
    if raw is None:  # an explicit null names no company, like an absent key
        return None
    try:
        if isinstance(raw, str):
            return uuid.UUID(raw)
    except ValueError:
        pass
    raise ValidationError({"company_id": ["Must be a company id."]}, code="invalid")


def company_membership(
    memberships: list[Membership],
    raw_company: str | None,
    *,
    body_company=ABSENT,
    default_company_id: uuid.UUID | None = None,
) -> Membership:
    """The membership a request acts in (SPEC: Conventions, "Which company a request acts in"),
    in this order: ``?company=`` (``raw_company``) or a create's body ``company_id``
    (``body_company``), which must agree (else 400); else the user's default company
    (``default_company_id``) while they are still an active member of it; else their only
    company; else 400 naming ``company``. A named company the caller is not an active member of,
    or a malformed ``?company=``, is 404; a malformed body ``company_id`` is 400 naming it."""
    company_id = None
    # Present but empty (`?company=`) is malformed like any other non-UUID, not "unspecified".
    if raw_company is not None:
        try:
            company_id = uuid.UUID(raw_company)
        except ValueError:
            raise NotFound("No such company.") from None
    body_id = None if body_company is ABSENT else _body_company_id(body_company)
    if body_id is not None:
        if company_id is not None and company_id != body_id:
            raise ValidationError(
                {"company_id": ["Differs from ?company=: name one company, or the same one twice."]},
                code="company_mismatch",
            )
        company_id = body_id
    if company_id is None and default_company_id is not None:
        # A default the user has since left is skipped, not an error: it is a preference.
        for membership in memberships:
            if membership.company_id == default_company_id:
                return membership
    if company_id is None:
        if len(memberships) == 1:
            return memberships[0]
        if not memberships:
            raise NotFound("You are not a member of any company.")
        raise ValidationError(
            {
                "company": [
                    "You belong to several companies: say which with ?company= (or company_id), "
                    "or set default_company_id on /me."
                ]
            }
        )
    for membership in memberships:
        if membership.company_id == company_id:
            return membership
    raise NotFound("No such company.")


def request_membership(request, memberships: list[Membership] | None = None, *, create: bool = False) -> Membership:
    """``company_membership`` for a request: its ``?company=``, its user's default company and,
    for a create (``create=True``), its body's ``company_id``. Every API view and dashboard page
    that acts in one company resolves it here."""
    if memberships is None:
        memberships = list(permissions.active_memberships(request.user))
    data = getattr(request, "data", None)  # a DRF request; a Django one (dashboard) has none
    body_company = data.get("company_id", ABSENT) if create and isinstance(data, Mapping) else ABSENT
    return company_membership(
        memberships,
        request.GET.get("company"),
        body_company=body_company,
        default_company_id=getattr(request.user, "default_company_id", None),
    )


class CompanyScopedViewSet(viewsets.GenericViewSet):
    lookup_value_regex = UUID_PATH  # the router's {pk}; nested ids use UUID_PATH too

    def scoped_queryset(self, memberships: list[Membership]) -> QuerySet:
        raise NotImplementedError  # fail closed: no selector, no rows

    # ------------------------------------------------------------------ memberships

    def memberships(self) -> list[Membership]:
        if not hasattr(self, "_memberships"):
            self._memberships = list(permissions.active_memberships(authenticated_user(self.request)))
        return self._memberships

    def company_membership(self) -> Membership:
        """The membership a list filter or a create acts in (``request_membership``); on a POST
        the body's ``company_id`` counts too."""
        return request_membership(self.request, self.memberships(), create=self.request.method == "POST")

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
            assert self.queryset is not None  # each view sets queryset = Model.objects.none()
            return self.queryset.none()
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


class CompanyScopedInput(InputSerializer):
    """The body of a create that acts in one company: ``company_id`` may name it (read by
    ``request_membership``; it must agree with ``?company=``). Update serializers derived
    from one set ``company_id = None``: a company never changes, so naming it is a 400."""

    company_id = serializers.UUIDField(
        required=False, allow_null=True, help_text="The company to create in (or ?company=); see /me's default."
    )

    def validate(self, attrs):
        # Checked here, consumed by request_membership: never handed on to a service with the
        # rest of the body (privacy rules splat it: {"company_id": null} was a TypeError 500).
        attrs.pop("company_id", None)
        return super().validate(attrs)
