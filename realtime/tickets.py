"""Single-use WebSocket tickets (SPEC: Realtime).

A browser cannot put an Authorization header on a WebSocket, and a token in the URL ends up in
access logs. A ticket is the short-lived alternative: issued over an authenticated POST, good
for one connection within 30 seconds, stored only as its SHA-256 (a Redis dump holds nothing
that opens a socket). Redeeming is GETDEL, so two sockets racing with one ticket get one
success between them."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.utils import timezone

from common.redis import get_client, key

TICKET_SECONDS = 30


def _key(ticket: str) -> str:
    return key("ws-ticket", hashlib.sha256(ticket.encode()).hexdigest())


def ticket_issue(*, user, session_id: str | None) -> tuple[str, datetime]:
    """A ticket for ``user``'s socket; ``session_id`` binds it to a device session (a token's,
    or the dashboard's behind its Django session): its revocation then closes the socket."""
    ticket = secrets.token_urlsafe(32)
    get_client().set(_key(ticket), f"{user.pk}|{session_id or ''}", ex=TICKET_SECONDS)
    return ticket, timezone.now() + timedelta(seconds=TICKET_SECONDS)


def ticket_redeem(ticket: str) -> tuple[str, str | None] | None:
    """(user id, session id or None) once per ticket; None when unknown, used or expired."""
    if not ticket or len(ticket) > 200:  # no hashing of arbitrary junk from a query string
        return None
    raw = get_client().getdel(_key(ticket))
    if raw is None:
        return None
    text = raw.decode() if isinstance(raw, bytes) else raw
    user_id, _, session_id = text.partition("|")
    return user_id, session_id or None
