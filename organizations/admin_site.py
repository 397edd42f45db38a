"""The Django admin for team admins (SPEC: "Team admins").

Every OWNER and ADMIN of a company may sign in at ``/admin/`` with their email and password
without being ``is_staff``; superusers too. Who administers which company comes from
``permissions.admin_company_ids`` and is re-read on every request (once, cached on the
request), so a member who is demoted or removed is refused on their next request even with a
live session cookie. What they then see is scoped by ``admin_mixins``."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from rest_framework.exceptions import Throttled

from accounts import services
from common import throttling
from common.exceptions import AuthenticationFailed, throttled_wait
from organizations import permissions
from organizations.models import Membership


def admin_memberships(request: HttpRequest) -> dict:
    """The caller's active OWNER/ADMIN memberships by company id, read once per request.
    Keyed by user too: the login view swaps ``request.user`` mid-request."""
    user = request.user
    cached = getattr(request, "_stint_admin_memberships", None)
    if cached is not None and cached[0] == user.pk:
        return cached[1]
    by_company: dict = {}
    if user.is_authenticated:
        ids = permissions.admin_company_ids(user)
        if ids:
            by_company = {m.company_id: m for m in permissions.active_memberships(user).filter(company_id__in=ids)}
    request._stint_admin_memberships = (user.pk, by_company)  # type: ignore[attr-defined]  # a per-request cache
    return by_company


def admin_membership_in(request: HttpRequest, company_id) -> Membership | None:
    """The caller's OWNER/ADMIN membership in that company, or None (a superuser has none)."""
    return admin_memberships(request).get(company_id)


class StintAdminAuthenticationForm(AdminAuthenticationForm):
    """Admin login by email; OWNERs and ADMINs are let in although they are not staff. A
    refused member gets the same "enter the correct email and password" error as a wrong
    password, like Django's refusal of a non-staff account.

    The credentials go through ``accounts.services.credentials_check``, the one login-failure
    limit of the API and the dashboard's /login/ (every registered user owns a company, so
    every account can be guessed here too): past it the form shows a readable error and the
    site answers 429 with ``Retry-After`` (``retry_after``)."""

    retry_after: int | None = None

    def clean(self):
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email is None or not password:
            return self.cleaned_data
        try:
            self.user_cache = services.credentials_check(
                email=email, password=password, ip=throttling.request_ip(self.request)
            )
        except Throttled as exc:
            self.retry_after = int(throttled_wait(exc) or settings.LOGIN_FAILURE_WINDOW_SECONDS)
            raise ValidationError(
                "Too many failed sign-in attempts. Try again in %(seconds)s seconds.",
                code="throttled",
                params={"seconds": self.retry_after},
            ) from exc
        except AuthenticationFailed as exc:
            raise self.get_invalid_login_error() from exc
        self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data

    def confirm_login_allowed(self, user) -> None:
        AuthenticationForm.confirm_login_allowed(self, user)  # inactive accounts; skips is_staff
        if not (user.is_superuser or permissions.admin_company_ids(user)):
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class StintAdminSite(admin.AdminSite):
    site_header = "Stint admin"
    site_title = "Stint admin"
    index_title = "Company administration"
    login_form = StintAdminAuthenticationForm
    site_url = None  # no public site to go back to from here

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        response = super().login(request, extra_context)
        form = (getattr(response, "context_data", None) or {}).get("form")
        retry_after = getattr(form, "retry_after", None)
        if retry_after is not None:  # the form's own page, readable, with the API's status
            response.status_code = 429
            response["Retry-After"] = str(retry_after)
        return response

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and (user.is_superuser or admin_memberships(request)))

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list:
        # A ModelAdmin may name its menu entry (Membership reads "Members") without a model
        # option, which would need a migration.
        app_list = super().get_app_list(request, app_label)
        for app in app_list:
            for entry in app["models"]:
                label = getattr(self._registry.get(entry["model"]), "admin_label", None)
                if label:
                    entry["name"] = label
        return app_list
