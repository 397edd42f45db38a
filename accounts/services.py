"""Every write of the accounts app: registration, sign-in, token rotation, revocation and the
password flows. Views, the admin and management commands all come through here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

import structlog
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import throttling
from accounts.models import DeviceSession, PasswordResetToken, RefreshToken, User, normalize_email
from accounts.personal_tokens import personal_tokens_revoke_all
from accounts.tokens import access_token_for, hash_token, mark_sessions_revoked, new_opaque_token
from changelog import audience, publishing
from common.exceptions import AuthenticationFailed, GoneError, InvalidInput, NotFoundError
from common.links import public_url
from organizations.models import Company, Invitation, Membership
from organizations.services import company_create, invitation_accept

logger = structlog.get_logger(__name__)


class EmailTaken(InvalidInput):
    def __init__(self) -> None:
        super().__init__("An account with this email already exists.", code="unique", attr="email")


@dataclass(frozen=True)
class IssuedTokens:
    session: DeviceSession
    access: str
    refresh: str


@dataclass(frozen=True)
class DeviceInfo:
    device_name: str = ""
    user_agent: str = ""
    ip: str | None = None


# --------------------------------------------------------------------------- sessions


def _device_session_create(
    *, user: User, device: DeviceInfo, stay_logged_in: bool, lifetime: timedelta
) -> DeviceSession:
    return DeviceSession.objects.create(
        user=user,
        device_name=device.device_name[:150],
        user_agent=device.user_agent[:512],
        ip=device.ip,
        stay_logged_in=stay_logged_in,
        expires_at=timezone.now() + lifetime,
    )


def session_create(*, user: User, device: DeviceInfo, stay_logged_in: bool) -> IssuedTokens:
    lifetime = settings.REFRESH_TOKEN_LIFETIME_STAY if stay_logged_in else settings.REFRESH_TOKEN_LIFETIME
    session = _device_session_create(user=user, device=device, stay_logged_in=stay_logged_in, lifetime=lifetime)
    refresh = new_opaque_token()
    RefreshToken.objects.create(session=session, token_hash=hash_token(refresh))
    return IssuedTokens(session=session, access=access_token_for(session), refresh=refresh)


@transaction.atomic
def sessions_revoke(
    *,
    sessions: list[DeviceSession] | None = None,
    user: User | None = None,
    reason: str,
    keep: DeviceSession | None = None,
) -> int:
    """Revoke the given sessions, or every live session of ``user`` (but ``keep``).
    Access tokens of revoked sessions stop working once this commits."""
    qs = DeviceSession.objects.filter(revoked_at__isnull=True)
    if sessions is not None:
        qs = qs.filter(id__in=[s.id for s in sessions])
    elif user is not None:
        qs = qs.filter(user=user)
    else:  # pragma: no cover - a programming error, not a user error
        raise ValueError("sessions or user is required")
    if keep is not None:
        qs = qs.exclude(id=keep.id)
    ids = list(qs.values_list("id", flat=True))
    if not ids:
        return 0
    DeviceSession.objects.filter(id__in=ids).update(revoked_at=timezone.now(), revoked_reason=reason[:32])
    # Inside the transaction, not on commit: if Redis cannot take the marker the revocation
    # fails and rolls back (503), instead of committing while a cached "live" keeps the access
    # token working. A later rollback only errs on the safe side (a needless sign-in).
    mark_sessions_revoked([str(i) for i in ids])
    # Their sockets close (4401) once this commits; robust, so a channel-layer outage cannot
    # fail a sign-out (the consumer's liveness check closes them within 5 s anyway).
    groups = [audience.session_group(i) for i in ids]
    close = {"type": publishing.CONTROL_MESSAGE, "action": "close", "code": 4401}
    transaction.on_commit(lambda: publishing.send_to_groups(groups, close), robust=True)
    logger.info("sessions_revoked", count=len(ids), reason=reason)
    return len(ids)


@transaction.atomic
def web_session_open(*, user: User, device: DeviceInfo, replaces: str | None = None) -> DeviceSession:
    """The device session behind a new Django-session sign-in (``tokens.WEB_SESSION_KEY``,
    accounts/web_sessions.py); it lasts as long as the session cookie (``SESSION_COOKIE_AGE``).
    ``replaces``: the same browser's previous sign-in (signed in again without signing out),
    revoked."""
    if replaces:
        sessions_revoke(sessions=list(DeviceSession.objects.filter(id=replaces, user=user)), reason="replaced")
    lifetime = timedelta(seconds=settings.SESSION_COOKIE_AGE)
    return _device_session_create(user=user, device=device, stay_logged_in=False, lifetime=lifetime)


@transaction.atomic
def web_session_end(*, user_id: str, session_id: str, reason: str) -> None:
    """Revoke a browser's device session whose Django session is over (``user_id``: the one
    the Django session named; its User may be gone or inactive)."""
    sessions_revoke(sessions=list(DeviceSession.objects.filter(id=session_id, user_id=user_id)), reason=reason)


# --------------------------------------------------------------------------- register / login


@transaction.atomic
def account_register(
    *, email: str, password: str, name: str, company_name: str | None = None, invitation_token: str | None = None
) -> tuple[User, Membership]:
    """A new account and the company it works in: one of its own, which it OWNs, or, with
    ``invitation_token``, the inviting company, joined with the invited role and no company of
    its own (the invitation is consumed exactly as accepting it is: single use, 7 days, any
    email address, ``organizations.services.invitation_accept``). The company becomes the
    user's default. The API's register and the dashboard's invitation page both come here.
    One transaction: a bad invitation leaves no account behind. The one taken email that may
    register is that of an account an import made for its invitee (``_claimable``)."""
    if invitation_token is not None and company_name is not None:
        # Never silently ignored (SPEC: Conventions): an invitee gets no company of their own.
        raise InvalidInput(
            "An invited account joins the inviting company: leave company_name out.",
            code="invalid",
            attr="company_name",
        )
    email = normalize_email(email)
    existing = User.objects.select_for_update().filter(email=email).first()
    if existing is not None and not _claimable(existing, invitation_token):
        raise EmailTaken()
    _validate_password(password, user=existing or User(email=email, name=name), attr="password")
    if existing is not None:  # an import's invitee registers: the account made for them becomes theirs
        user = existing
        user.name = name
        user.set_password(password)
        user.save(update_fields=["name", "password", "updated_at"])
    else:
        try:
            with transaction.atomic():
                user = User.objects.create_user(email=email, password=password, name=name)
        except IntegrityError as exc:  # a concurrent registration won the unique index
            raise EmailTaken() from exc
    if invitation_token is None:
        company = company_create(owner=user, name=company_name or f"{name}'s company")
        membership = Membership.objects.get(company=company, user=user)
    else:
        try:
            membership = invitation_accept(token=invitation_token, user=user)
        except (NotFoundError, GoneError) as exc:
            # A field of this form, not the URL: 400 naming it (accept's 404/410 codes kept).
            code = "does_not_exist" if isinstance(exc, NotFoundError) else exc.code
            raise InvalidInput(exc.message, code=code, attr="invitation_token") from exc
    user.default_company = membership.company
    user.save(update_fields=["default_company", "updated_at"])
    return user, membership


def _claimable(user: User, invitation_token: str | None) -> bool:
    """An account an import created for an invited person (docs/imports.md, "Inviting unknown
    people"): no password and never signed in, and the token is an invitation to exactly its
    address from a company where it holds the import's inactive membership. Any company can
    invite any address and read the token back (the invitations API returns it), so an
    invitation from elsewhere proves nothing and claims nothing."""
    if invitation_token is None or user.last_login is not None or user.has_usable_password():
        return False
    return Invitation.objects.filter(
        token_hash=hash_token(invitation_token),
        email=user.email,
        company__in=Membership.objects.filter(user=user, is_active=False).values("company"),
    ).exists()


@transaction.atomic
def user_register(
    *,
    email: str,
    password: str,
    name: str,
    company_name: str | None,
    device: DeviceInfo,
    invitation_token: str | None = None,
) -> tuple[User, Company, IssuedTokens]:
    """``account_register``, signed in on ``device`` (POST /auth/register)."""
    user, membership = account_register(
        email=email, password=password, name=name, company_name=company_name, invitation_token=invitation_token
    )
    tokens = session_create(user=user, device=device, stay_logged_in=False)
    return user, membership.company, tokens


def credentials_check(*, email: str, password: str, ip: str | None) -> User:
    """The user these credentials belong to, under the login-failure limit shared by the API
    and the dashboard's sign-in form (429 past it, 401 for wrong credentials)."""
    email = normalize_email(email)
    # The attempt is counted before the (slow) password check, so a burst of parallel guesses
    # cannot all pass the limit; a success gives its slot back.
    throttling.reserve_login_attempt(ip=ip, email=email)
    user = authenticate(email=email, password=password)
    if user is None:
        logger.info("login_failed", ip=ip)
        raise AuthenticationFailed("Email or password is wrong.")
    throttling.release_login_attempt(ip=ip, email=email)
    return user


def auth_login(*, email: str, password: str, device: DeviceInfo, stay_logged_in: bool) -> IssuedTokens:
    user = credentials_check(email=email, password=password, ip=device.ip)
    with transaction.atomic():
        return session_create(user=user, device=device, stay_logged_in=stay_logged_in)


def token_refresh(*, refresh: str) -> IssuedTokens:
    """Rotate a refresh token. The old token's row is locked, so of two concurrent refreshes
    one rotates and the other then sees a rotated token: reuse, which revokes every session
    of the user (the partial unique index backs this: one live token per session)."""
    reuse_user: User | None = None
    with transaction.atomic():
        row = (
            RefreshToken.objects.select_for_update(of=("self",))
            .select_related("session__user")
            .filter(token_hash=hash_token(refresh))
            .first()
        )
        if row is None:
            raise AuthenticationFailed("Refresh token is not valid.")
        session = row.session
        if row.rotated_at is not None:
            reuse_user = session.user
            sessions_revoke(user=reuse_user, reason="refresh_reuse")
        elif not session.is_live or not session.user.is_active:
            raise AuthenticationFailed("Refresh token has expired or was revoked.")
        else:
            now = timezone.now()
            row.rotated_at = now
            row.save(update_fields=["rotated_at", "updated_at"])
            new_refresh = new_opaque_token()
            RefreshToken.objects.create(session=session, token_hash=hash_token(new_refresh))
            DeviceSession.objects.filter(id=session.id).update(last_seen_at=now)
            return IssuedTokens(session=session, access=access_token_for(session), refresh=new_refresh)
    # Outside the block: the revocation above must commit before we answer 401.
    logger.warning("refresh_token_reused", user_id=str(reuse_user.pk))
    raise AuthenticationFailed("Refresh token was already used; every session has been signed out.")


@transaction.atomic
def auth_logout(*, user: User, session_id: str) -> None:
    sessions_revoke(sessions=list(DeviceSession.objects.filter(id=session_id, user=user)), reason="logout")


@transaction.atomic
def auth_logout_all(*, user: User) -> None:
    sessions_revoke(user=user, reason="logout_all")


# --------------------------------------------------------------------------- passwords


def _validate_password(password: str, *, user: User, attr: str) -> None:
    from django.core.exceptions import ValidationError

    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages), code="password_invalid", attr=attr) from exc


def password_reset_request(*, email: str) -> None:
    """Create a reset token and mail the link; a no-op for an unknown email. Runs in a
    Celery task so the HTTP answer takes the same time whether or not the account exists."""
    user = User.objects.filter(email=normalize_email(email), is_active=True).first()
    if user is None:
        return
    token = new_opaque_token()
    PasswordResetToken.objects.create(
        user=user,
        token_hash=hash_token(token),
        expires_at=timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT),
    )
    # No request here (a Celery task): PUBLIC_URL, else the local `make run` on its PORT.
    link = public_url(f"/reset-password?{urlencode({'token': token})}")
    send_mail(
        subject="Reset your Stint password",
        message=(
            f"Hello {user.name},\n\nSomeone asked to reset the password of your Stint account.\n"
            f"Open this link within an hour to choose a new one:\n\n{link}\n\n"
            "If it was not you, ignore this email: your password stays as it is.\n"
        ),
        from_email=None,
        recipient_list=[user.email],
    )


def _reset_tokens_spend(user: User) -> None:
    """A new password voids every reset link still in the user's mailbox."""
    PasswordResetToken.objects.filter(user=user, used_at__isnull=True).update(used_at=timezone.now())


@transaction.atomic
def password_reset(*, token: str, password: str) -> User:
    row = (
        PasswordResetToken.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(token_hash=hash_token(token), used_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if row is None:
        raise InvalidInput("This reset link is invalid, used or expired.", code="invalid_token", attr="token")
    user = row.user
    _validate_password(password, user=user, attr="password")
    user.set_password(password)
    user.save(update_fields=["password", "updated_at"])
    _reset_tokens_spend(user)
    sessions_revoke(user=user, reason="password_reset")
    personal_tokens_revoke_all(user=user, by=user, reason="password_reset")  # SPEC: every token too
    return user


@transaction.atomic
def password_change(*, user: User, current_password: str, new_password: str, session_id: str | None) -> None:
    if not user.check_password(current_password):
        raise InvalidInput("The current password is wrong.", code="wrong_password", attr="current_password")
    _validate_password(new_password, user=user, attr="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password", "updated_at"])
    _reset_tokens_spend(user)
    # Other devices sign in again; the device that changed it stays signed in.
    keep = DeviceSession.objects.filter(id=session_id).first() if session_id else None
    sessions_revoke(user=user, reason="password_change", keep=keep)


def tokens_prune() -> dict[str, int]:
    """Delete sessions that expired or were revoked over a day ago (their refresh tokens go
    with them) and reset tokens past their hour. Safe to run twice or concurrently."""
    now = timezone.now()
    day_ago = now - timedelta(days=1)
    sessions, _ = DeviceSession.objects.filter(expires_at__lt=day_ago).delete()
    revoked, _ = DeviceSession.objects.filter(revoked_at__lt=day_ago).delete()
    resets, _ = PasswordResetToken.objects.filter(expires_at__lt=now).delete()
    return {"sessions": sessions + revoked, "password_reset_tokens": resets}
