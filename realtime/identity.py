"""Who is on a socket (SPEC: Realtime, docs/realtime.md "Connecting"): the three ways in and
the groups the caller's memberships allow. Every credential is checked by accounts (the one
Bearer check, device-session liveness); this module only picks which one the socket brought.

The first credential present decides, and a bad one is not retried with the next: bearer
subprotocol, then ``?ticket=``, then the dashboard's Django session, for browsers only."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model, load_backend
from django.core.exceptions import ValidationError
from django.utils.crypto import constant_time_compare
from rest_framework.exceptions import AuthenticationFailed

from accounts.authentication import token_identity
from accounts.tokens import session_is_live, web_session_id
from changelog import audience
from organizations import permissions
from organizations.models import Membership, TeamMember
from realtime.offloop import off_loop
from realtime.tickets import ticket_redeem


@dataclass
class Identity:
    user: object
    session_id: str | None  # the device session (token, ticket, or the dashboard's Django session)
    memberships: list[Membership] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)

    @property
    def scope_key(self) -> list[tuple[str, str]]:
        return scope_key(self.memberships)


def scope_key(memberships: list[Membership]) -> list[tuple[str, str]]:
    """What the socket's groups were computed from: when it changes, the socket must reconnect."""
    return sorted((str(m.company_id), m.role) for m in memberships)


def header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def origin_allowed(origin: str) -> bool:
    return origin.strip().lower().rstrip("/") in settings.REALTIME_ALLOWED_ORIGINS


async def authenticate(scope, *, origin: str | None, protocols: list[str], bearer: bool) -> Identity | None:
    """The caller's identity, or None when the credential that decides is missing or bad.
    Raises when the database or Redis fails (the consumer closes 1011)."""
    if bearer:
        return await off_loop(_identity_from_token)(protocols[1] if len(protocols) > 1 else "")
    tickets = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("ticket")
    if tickets:
        return await off_loop(_identity_from_ticket)(tickets[0])
    if origin is not None and "session" in scope:
        # Only with an allowed Origin (the consumer checked it): a client without one (a
        # desktop app, a script holding a stolen cookie jar) must bring a token or a ticket.
        return await off_loop(_identity_from_session)(scope["session"])
    return None


def _identity(user, session_id: str | None) -> Identity:
    """The user's groups, from their active memberships and teams (changelog/audience.py names them)."""
    memberships = list(permissions.active_memberships(user).order_by("company_id"))
    groups = [audience.user_group(user.pk)]
    if session_id:
        groups.append(audience.session_group(session_id))
    for m in memberships:
        if m.role in permissions.COMPANY_MANAGERS:
            groups.append(audience.company_managers_group(m.company_id))
        groups.append(audience.company_all_group(m.company_id))
    teams = TeamMember.objects.filter(user=user, company_id__in=[m.company_id for m in memberships])
    for team_member in teams.order_by("team_id").only("team_id", "role"):
        groups.append(audience.team_all_group(team_member.team_id))
        if permissions.is_team_lead(team_member):
            groups.append(audience.team_leads_group(team_member.team_id))
    return Identity(user=user, session_id=session_id, memberships=memberships, groups=groups)


def _identity_from_token(raw: str) -> Identity | None:
    if not raw:
        return None
    try:
        user, claims = token_identity(raw)
    except AuthenticationFailed:
        return None
    return _identity(user, claims.session_id)


def _identity_from_ticket(ticket: str) -> Identity | None:
    redeemed = ticket_redeem(ticket)
    if redeemed is None:
        return None
    user_id, session_id = redeemed
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or (session_id is not None and not session_is_live(session_id, user_id=str(user.pk))):
        return None
    return _identity(user, session_id)


def _identity_from_session(session) -> Identity | None:
    """The dashboard's Django session, checked like django.contrib.auth.get_user but without
    its side effect (a session whose password hash is stale is refused here, not flushed:
    consumers do not write), then its device session, as DeviceSessionMiddleware does."""
    try:
        user_id = get_user_model()._meta.pk.to_python(session[SESSION_KEY])
        backend_path = session[BACKEND_SESSION_KEY]
    except (KeyError, ValueError, ValidationError):  # no session, an anonymous one, or junk
        return None
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return None
    user = load_backend(backend_path).get_user(user_id)  # None unless active
    if user is None:
        return None
    stored = session.get(HASH_SESSION_KEY) or ""
    hashes = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
    if not any(constant_time_compare(stored, h) for h in hashes):
        return None
    # The browser's device session (accounts/web_sessions.py): the socket joins its group and
    # the watchdog checks it, so revoking it closes this socket as it closes a token's.
    session_id = web_session_id(session)
    if not session_id or not session_is_live(session_id, user_id=str(user.pk)):
        return None
    return _identity(user, session_id)
