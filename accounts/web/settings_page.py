"""The dashboard's Settings page (SPEC: Web dashboard; Accounts, "Personal access tokens"): a
signed-in member creates and revokes their own personal access tokens, sees a new one once,
and copies the ready-made configuration of ActivityWatch's aw-client and of WakaTime.

Plain forms with CSRF, no script needed (static/js/settings.js only adds the copy buttons).
The new token is rendered into the answer to the POST that created it and kept nowhere else:
not in the session, not in a redirect; the answer is ``no-store``. Every write goes through
``accounts.personal_tokens``, as the API's."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from accounts import personal_tokens, selectors
from accounts.authentication import authenticated_user
from accounts.models import TokenScope
from common.exceptions import InvalidInput, NotFoundError
from organizations import permissions

EXPIRY_CHOICES = [("", "Never"), ("30", "In 30 days"), ("90", "In 90 days"), ("365", "In a year")]
PLACEHOLDER = "YOUR-TOKEN"


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"placeholder": "laptop watchers"}))
    scopes = forms.MultipleChoiceField(
        choices=TokenScope.choices, widget=forms.CheckboxSelectMultiple, initial=[TokenScope.INGEST]
    )
    company = forms.ChoiceField(required=False)
    expires_in = forms.ChoiceField(choices=EXPIRY_CHOICES, required=False)

    def __init__(self, *args, memberships, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "Any of my companies")] + [(str(m.company_id), m.company.name) for m in memberships]
        self.fields["company"].choices = choices  # type: ignore[attr-defined]  # a ChoiceField


def tracker_configs(request, raw: str) -> dict[str, str]:
    """What a member pastes into their trackers, for this server as the browser reached it."""
    host = request.get_host()
    hostname, colon, port = host.rpartition(":")
    if not colon or "]" in port:  # no port given (an IPv6 literal's colons are in its brackets)
        hostname, port = host, ""
    port = port or ("443" if request.is_secure() else "80")
    return {
        # aw-client reads [server] hostname and port; the user part of the host becomes HTTP
        # Basic (the token as user name), which Stint accepts as the token. The colon matters:
        # requests sends a URL's credentials only when it has a password part, so "<token>@"
        # would send none (docs/trackers-activitywatch.md).
        "aw_client": f'[server]\nhostname = "{raw}:@{hostname}"\nport = "{port}"\n',
        "wakatime": f"[settings]\napi_url = {request.scheme}://{host}/api/compat/wakatime/v1\napi_key = {raw}\n",
    }


def _page(request, form, *, created=None, raw=None, status=200):
    user = authenticated_user(request)
    return render(
        request,
        "settings.html",
        {
            "form": form,
            "tokens": selectors.personal_token_list(user=user).select_related("company"),
            "created": created,
            "token": raw,
            "configs": tracker_configs(request, raw or PLACEHOLDER),
        },
        status=status,
    )


def _memberships(request):
    return list(permissions.active_memberships(authenticated_user(request)).order_by("company__name"))


@never_cache  # no-store: a new token may be on the page
@login_required
@csrf_protect
@require_http_methods(["GET", "POST"])
def settings_page(request):
    memberships = _memberships(request)
    if request.method == "GET":
        return _page(request, TokenForm(memberships=memberships))
    form = TokenForm(request.POST, memberships=memberships)
    if not form.is_valid():
        return _page(request, form, status=400)
    days = form.cleaned_data["expires_in"]
    try:
        token, raw = personal_tokens.personal_token_create(
            user=authenticated_user(request),
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            company=form.cleaned_data["company"] or None,
            expires_at=timezone.now() + timedelta(days=int(days)) if days else None,
        )
    except (InvalidInput, NotFoundError) as exc:
        form.add_error("company" if isinstance(exc, NotFoundError) else None, exc.message)
        return _page(request, form, status=400)
    return _page(request, TokenForm(memberships=memberships), created=token, raw=raw)


@login_required
@csrf_protect
@require_POST
def token_revoke(request, token_id):
    user = authenticated_user(request)
    token = get_object_or_404(selectors.personal_token_list(user=user), id=token_id)  # not theirs: 404
    personal_tokens.personal_token_revoke(token=token, by=user)
    return redirect("settings", permanent=False)
