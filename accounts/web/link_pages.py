"""The pages our emails link to (SPEC: Operations): ``/reset-password?token=`` (choose a new
password) and an invitation's ``accept_url`` (sign in or register, then join the company).

Each form calls the services the API calls (accounts.services.password_reset,
credentials_check and user_register; organizations.services.invitation_accept): there is no
second implementation of a rule here. Every password form counts failures against the login
limit (accounts.throttling) that the API's, the dashboard's and the admin's sign-in share."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import login
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods
from rest_framework.exceptions import Throttled

from accounts import services, throttling
from accounts.models import User
from accounts.tokens import hash_token
from common import throttling as request_throttling
from common.exceptions import (
    AuthenticationFailed,
    ConflictError,
    GoneError,
    InvalidInput,
    NotFoundError,
    PlanLimitError,
    ServiceError,
    throttled_wait,
)
from organizations import selectors as org_selectors
from organizations import services as org_services
from organizations.models import Membership

# A service error's HTTP status on a page, as the API maps it (common.exceptions).
_STATUS = {
    InvalidInput: 400,
    AuthenticationFailed: 400,
    PlanLimitError: 402,
    NotFoundError: 404,
    ConflictError: 409,
    GoneError: 410,
}


def _status(exc: ServiceError) -> int:
    return next((code for kind, code in _STATUS.items() if isinstance(exc, kind)), 400)


def _password_field(autocomplete: str) -> forms.CharField:
    return forms.CharField(
        max_length=4096, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": autocomplete})
    )


def _throttled(response: HttpResponse, exc: Throttled) -> HttpResponse:
    response["Retry-After"] = str(int(throttled_wait(exc) or settings.LOGIN_FAILURE_WINDOW_SECONDS))
    return response


def _too_many(exc: Throttled) -> str:
    seconds = int(throttled_wait(exc) or settings.LOGIN_FAILURE_WINDOW_SECONDS)
    return f"Too many failed attempts. Try again in {seconds} seconds."


# --------------------------------------------------------------------------- password reset


class ResetPasswordForm(forms.Form):
    token = forms.CharField(max_length=200, widget=forms.HiddenInput)
    password = _password_field("new-password")
    password_again = _password_field("new-password")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("password") and data.get("password_again") and data["password"] != data["password_again"]:
            self.add_error("password_again", "The two passwords differ.")
        return data


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def reset_password_page(request):
    """``/reset-password?token=``: the emailed link opens a form for the new password; the
    token travels on in a hidden field. A wrong or spent token counts as a failed sign-in
    (per IP, and per token) so the form cannot be used to guess tokens at speed."""
    token = request.POST.get("token") or request.GET.get("token", "")
    form = ResetPasswordForm(request.POST if request.method == "POST" else None, initial={"token": token})
    context: dict = {"form": form, "token": token, "error": None, "done": False}
    status, throttled = 200, None
    if not token:
        context["error"], status = "This link has no reset token: open the link from the email again.", 400
    elif form.is_valid():
        ip = request_throttling.request_ip(request)
        # The token is what is guessed here, so it stands in for the email of a sign-in.
        subject = f"reset-token:{hash_token(form.cleaned_data['token'])}"
        try:
            throttling.reserve_login_attempt(ip=ip, email=subject)
        except Throttled as exc:
            throttled, context["error"], status = exc, _too_many(exc), 429
        else:
            try:
                services.password_reset(token=form.cleaned_data["token"], password=form.cleaned_data["password"])
            except InvalidInput as exc:
                if exc.attr == "password":  # a weak password is no guess: give the slot back
                    throttling.release_login_attempt(ip=ip, email=subject)
                    form.add_error("password", exc.message)
                else:
                    context["error"] = exc.message
                status = 400
            else:
                throttling.release_login_attempt(ip=ip, email=subject)
                context["done"] = True
    elif request.method == "POST":
        status = 400
    response = render(request, "reset_password.html", context, status=status)
    return _throttled(response, throttled) if throttled else response


# --------------------------------------------------------------------------- invitations


class InvitationSignInForm(forms.Form):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = _password_field("current-password")


class InvitationRegisterForm(forms.Form):
    name = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = _password_field("new-password")


@transaction.atomic
def register_and_accept_invitation(*, token: str, email: str, password: str, name: str) -> Membership:
    """A new account that joins the inviting company and nothing else, all or nothing: the API's
    registration with ``invitation_token`` (a spent or expired invitation registers no one)."""
    _user, membership = services.account_register(email=email, password=password, name=name, invitation_token=token)
    return membership


def _joined(request, user: User, membership: Membership):
    if request.user.pk != user.pk:
        login(request, user)  # a new session key: no fixation
    return redirect(f"{settings.LOGIN_REDIRECT_URL}?company={membership.company_id}")


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def invitation_page(request, token: str):
    """An invitation's ``accept_url``: who invites you where, and one button to accept when
    signed in; otherwise a sign-in form and a registration form, each of which accepts."""
    invitation = org_selectors.invitation_for_token(token=token)
    if invitation is None:
        return render(request, "invitation.html", {"invitation": None}, status=404)
    action = request.POST.get("action") if request.method == "POST" else None
    signed_in = request.user.is_authenticated
    sign_in_form = InvitationSignInForm(request.POST if action == "signin" else None, prefix="signin")
    register_form = InvitationRegisterForm(
        request.POST if action == "register" else None, prefix="register", initial={"email": invitation.email}
    )
    error, status, throttled = None, 200, None
    ip = request_throttling.request_ip(request)
    try:
        if action == "accept" and signed_in:
            return _joined(request, request.user, org_services.invitation_accept(token=token, user=request.user))
        if action == "signin" and sign_in_form.is_valid():
            user = services.credentials_check(
                email=sign_in_form.cleaned_data["email"], password=sign_in_form.cleaned_data["password"], ip=ip
            )
            return _joined(request, user, org_services.invitation_accept(token=token, user=user))
        if action == "register" and register_form.is_valid():
            # The API's per-IP register limit: it bounds asking "is this email taken?" here too.
            wait = request_throttling.hit([("register", ip or "unknown")])
            if wait is not None:
                raise Throttled(wait)
            membership = register_and_accept_invitation(token=token, **register_form.cleaned_data)
            return _joined(request, membership.user, membership)
        if action is not None:
            status = 400  # an unknown action, or a form with errors shown beside its fields
    except Throttled as exc:
        throttled, error, status = exc, _too_many(exc), 429
    except InvalidInput as exc:
        form = register_form if action == "register" else sign_in_form
        if exc.attr in form.fields:
            form.add_error(exc.attr, exc.message)
        else:
            error = exc.message
        status = 400
    except ServiceError as exc:
        error, status = exc.message, _status(exc)
    context = {
        "invitation": invitation,
        "token": token,
        "signed_in": signed_in,
        "sign_in_form": sign_in_form,
        "register_form": register_form,
        "error": error,
    }
    response = render(request, "invitation.html", context, status=status)
    return _throttled(response, throttled) if throttled else response
