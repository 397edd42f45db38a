"""The dashboard's sign-in and sign-out pages (SPEC: Web dashboard): the Django session, CSRF
on every form, and the same login-failure limit as ``POST /api/v1/auth/login``."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import login, logout
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.exceptions import Throttled

from accounts import services
from common import throttling
from common.exceptions import AuthenticationFailed, throttled_wait


class LoginForm(forms.Form):
    email = forms.EmailField(
        max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )
    password = forms.CharField(
        max_length=4096, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


def _next_url(request) -> str:
    """Where to go after signing in: ``?next=`` when it stays on this site, else the dashboard."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return settings.LOGIN_REDIRECT_URL


@never_cache
def home(request):
    """``/``: the dashboard when signed in, the sign-in page otherwise."""
    return redirect(settings.LOGIN_REDIRECT_URL if request.user.is_authenticated else settings.LOGIN_URL)


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def login_page(request):
    if request.method == "GET" and request.user.is_authenticated:
        return redirect(_next_url(request))
    form = LoginForm(request.POST if request.method == "POST" else None)
    error, status, retry_after = None, 200, None
    if form.is_valid():
        try:
            user = services.credentials_check(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                ip=throttling.request_ip(request),  # the client's, behind NUM_PROXIES proxies too
            )
        except Throttled as exc:
            retry_after = int(throttled_wait(exc) or settings.LOGIN_FAILURE_WINDOW_SECONDS)
            error, status = f"Too many failed sign-in attempts. Try again in {retry_after} seconds.", 429
        except AuthenticationFailed as exc:
            error, status = exc.message, 400
        else:
            login(request, user)  # a new session key: no fixation
            return redirect(_next_url(request))
    elif request.method == "POST":
        status = 400
    response = render(
        request,
        "login.html",
        {"form": form, "error": error, "next": request.POST.get("next") or request.GET.get("next", "")},
        status=status,
    )
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


@require_POST
@csrf_protect
def logout_page(request):
    """POST only (with CSRF): a link or an image on another site cannot sign anyone out."""
    logout(request)
    return redirect(settings.LOGIN_URL)
