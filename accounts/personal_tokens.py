"""Personal access tokens (SPEC: Accounts, "Personal access tokens"): create, revoke, look up.

The raw token is ``str(uuid.uuid4())`` (uuid4 reads os.urandom: a CSPRNG), the one shape
WakaTime clients accept as an API key; it is returned once and stored only as its SHA-256.

Lookups are not cached: each request that presents a token costs one indexed query (the
unique ``token_hash``, with its user joined in). Revocation therefore takes effect on the
very next request in every process, with no cache to invalidate; a token's request is
already doing database work, and a tracker sends one every few seconds at most.
``last_used_at`` is written at most once a minute per token and process, by the same
per-process throttle as a session's ``last_seen_at`` (``accounts.authentication.last_seen_due``)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import datetime

import structlog
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import PersonalAccessToken, TokenScope, User
from accounts.tokens import hash_token
from audit import recording
from common.exceptions import InvalidInput, NotFoundError
from organizations.models import Membership

logger = structlog.get_logger(__name__)

READ = TokenScope.READ.value
WRITE = TokenScope.WRITE.value
INGEST = TokenScope.INGEST.value
SCOPES = (READ, WRITE, INGEST)
# What the audit log says about a new token: never the raw value, its hash or its prefix.
TOKEN_AUDIT_FIELDS = ("name", "scopes", "company", "expires_at")

# The canonical text form of a UUID, any case: the only shape a personal token can have. A
# JWT never matches, so authentication can tell the two apart before looking anything up.
TOKEN_SHAPE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")


def looks_like_personal_token(value: str) -> bool:
    return TOKEN_SHAPE.match(value) is not None


def _scopes_clean(scopes: Iterable[str]) -> list[str]:
    wanted = set(scopes)
    unknown = wanted - set(SCOPES)
    if unknown:
        raise InvalidInput(f"Unknown scope: {', '.join(sorted(unknown))}.", code="invalid_choice", attr="scopes")
    if not wanted:
        raise InvalidInput("Name at least one scope: read, write or ingest.", code="empty", attr="scopes")
    return [scope for scope in SCOPES if scope in wanted]  # one order, no duplicates


@transaction.atomic
def personal_token_create(
    *,
    user: User,
    name: str,
    scopes: list[str],
    company=None,
    expires_at: datetime | None = None,
) -> tuple[PersonalAccessToken, str]:
    """A new token of ``user`` and its raw value (shown to them once, never stored).
    ``company`` (a Company, or its id) binds the token to one company the user is an active
    member of; any other is 404, as every company that is not the caller's is."""
    name = name.strip()
    if not name:
        raise InvalidInput("Give the token a name.", code="blank", attr="name")
    clean_scopes = _scopes_clean(scopes)
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput("expires_at must be in the future.", code="invalid", attr="expires_at")
    company_id = getattr(company, "pk", company)
    if company_id is not None and not (
        Membership.objects.filter(user=user, company_id=company_id, is_active=True).exists()
    ):
        raise NotFoundError("No such company.", code="not_found")
    raw = str(uuid.uuid4())
    token = PersonalAccessToken.objects.create(
        user=user,
        name=name[:100],
        scopes=clean_scopes,
        company_id=company_id,
        token_hash=hash_token(raw),
        prefix=raw[:8],
        expires_at=expires_at,
    )
    logger.info("personal_token_created", token_id=str(token.id), scopes=clean_scopes)
    # Never the raw value nor its hash: what it is called, what it may do, where, until when.
    recording.record(
        action="personal_token.created",
        target_type="personal_token",
        target_id=token.pk,
        company_id=company_id,
        actor=user,
        subject_user_id=user.pk,
        changes=recording.diff({}, recording.snapshot(token, TOKEN_AUDIT_FIELDS), TOKEN_AUDIT_FIELDS),
    )
    return token, raw


@transaction.atomic
def personal_token_revoke(
    *, token: PersonalAccessToken, by: User | None, reason: str = "revoked", company_id=None
) -> None:
    """Revoke one token (the caller has scoped it: it is theirs, or an admin's to revoke). It
    stops working on the next request: lookups read the database. Revoking twice keeps the
    first revocation's time and author. ``company_id``: the company an admin acted in, for the
    audit log, when the token is bound to none (default: the token's own company)."""
    now = timezone.now()
    updated = PersonalAccessToken.objects.filter(id=token.id, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=by, revoked_reason=reason[:32], updated_at=now
    )
    if updated:
        token.revoked_at, token.revoked_by, token.revoked_reason = now, by, reason[:32]
        logger.info("personal_token_revoked", token_id=str(token.id), reason=reason)
        recording.record(
            action="personal_token.revoked",
            target_type="personal_token",
            target_id=token.pk,
            company_id=token.company_id or company_id,
            actor=by,
            subject_user_id=token.user_id,
            changes={"revoked_at": [None, now], "revoked_reason": [None, reason[:32]]},
        )


def personal_tokens_revoke_all(*, user: User, by: User | None, reason: str) -> int:
    """Revoke every live token of ``user`` (a password reset: whoever had the old password may
    have made some)."""
    now = timezone.now()
    count = PersonalAccessToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=by, revoked_reason=reason[:32], updated_at=now
    )
    if count:
        logger.info("personal_tokens_revoked", count=count, reason=reason)
    return count


def personal_token_for(raw: str) -> PersonalAccessToken | None:
    """The live token with this raw value, its user joined in, or None: unknown, revoked,
    expired, or its user deactivated."""
    if not looks_like_personal_token(raw):
        return None
    token = (
        PersonalAccessToken.objects.select_related("user")
        .filter(token_hash=hash_token(raw.lower()), revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    return token
