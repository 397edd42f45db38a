"""The authenticated user's row, cached per process under a per-user version kept in Redis.

A Bearer request used to read its user from PostgreSQL (simplejwt's ``get_user``) and its
session's liveness from Redis: two round trips. Now it reads the session's liveness and the
user's version in one ``MGET`` (``accounts.authentication.token_identity``) and takes the user
row from this process's memory when it was loaded under that same version.

The version is a random token, never reused. Whatever changes a user row moves it: ``save()``
and ``delete()`` through the signals wired in ``accounts.apps``; the writes that send no
signal call ``user_changed`` themselves (``organizations.services.member_remove`` clearing a
default company with ``QuerySet.update``; a company's deletion setting ``default_company`` to
NULL, through its ``pre_delete`` signal). It moves at once, to a "being written" version
under which nothing is cached (a request between the two reads the old row and keeps it for
itself only), and again after commit, to a version rows are cached under. If the second write
is lost (Redis failing right then), rows are loaded on every request until it expires: slower,
never stale.

A row is cached under a version read BEFORE the row was loaded, so a write committed after the
load moves the version past it; a version missing from Redis (evicted, never set) is created
with ADD before the load, for the same reason. Each request gets its own instance built from
the cached values (``from_db``), JSON values copied: a view that changes its user never
changes the cached row."""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, transaction

from accounts.models import User

_rows: dict[str, tuple[str, tuple]] = {}  # user id -> (version, the row's values)
_MAX_ROWS = 50_000
_FIELDS = [f.attname for f in User._meta.concrete_fields]


# The version a change writes before it commits: nothing is cached under it, so a row read
# meanwhile (still the old one) is never kept, even if the version written after commit is lost.
_WRITING = "w:"


def version_key(user_id: object) -> str:
    return f"user-version:{user_id}"


def _version_ttl() -> int:
    # Longer than anything may stay cached under it: an access token's life, with margin.
    return int(settings.ACCESS_TOKEN_LIFETIME.total_seconds()) * 2 + 60


def _new_version() -> str:
    return secrets.token_hex(8)


def cached_user(user_id: str, version: str | None, load: Callable[[str], User]) -> User:
    """The user, from this process's copy of its row when that was loaded under ``version``
    (the value just read from ``version_key``), else from ``load`` (which raises for a user
    that may not authenticate: nothing is cached then). A fresh instance on every call."""
    known = _rows.get(user_id)
    if version is not None and known is not None and known[0] == version:
        return _instance(known[1])
    if version is None:
        fresh = _new_version()
        version = fresh if cache.add(version_key(user_id), fresh, timeout=_version_ttl()) else None
        if version is None:  # another request created it first: use theirs
            version = cache.get(version_key(user_id))
    user = load(user_id)
    if version is not None and not version.startswith(_WRITING):
        if len(_rows) >= _MAX_ROWS:
            _rows.clear()  # bounded memory; at worst each user is loaded once more
        _rows[user_id] = (version, _own(getattr(user, name) for name in _FIELDS))
    return user


def _own(values: Iterable) -> tuple:
    # JSON values (settings) are the only mutable ones a row holds: never shared with a request.
    return tuple(copy.deepcopy(v) if isinstance(v, (dict, list)) else v for v in values)


def _instance(values: tuple) -> User:
    return User.from_db(DEFAULT_DB_ALIAS, _FIELDS, _own(values))


def user_changed(user_ids: Iterable[object]) -> None:
    """Retire every cached copy of these users' rows: now, and once the transaction commits.
    The first write is not robust on purpose: if Redis is down the change fails (and rolls
    back) rather than leave processes serving the old row, as a session revocation does."""
    keys = [version_key(user_id) for user_id in user_ids]
    if not keys:
        return
    _bump(keys, prefix=_WRITING)
    # Committed by then: a failure is logged (robust), never raised to the caller after the fact.
    transaction.on_commit(lambda: _bump(keys), robust=True)


def _bump(keys: list[str], *, prefix: str = "") -> None:
    cache.set_many({key: prefix + _new_version() for key in keys}, timeout=_version_ttl())


def on_user_saved(sender, instance: User, **kwargs) -> None:
    user_changed([instance.pk])


def on_user_deleted(sender, instance: User, **kwargs) -> None:
    user_changed([instance.pk])


def on_company_deleting(sender, instance, **kwargs) -> None:
    """Deleting a company sets its users' ``default_company`` to NULL (``SET_NULL``: an
    UPDATE, no signal per user): retire those users' rows."""
    user_changed(User.objects.filter(default_company_id=instance.pk).values_list("pk", flat=True))
