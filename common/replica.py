"""Reports and exports read from a streaming replica when ``DATABASE_REPLICA_URL`` is set
(docs/operations.md "A read replica"); nothing else does, and nothing ever writes there.

- ``replica_reads(user_id)`` is the scope: inside it, ``ReplicaRouter`` sends reads to the
  ``replica`` alias. Report views are wrapped by ``reads_from_replica`` (the user is known once
  DRF authenticated the request), the export task opens the scope for its requester.
- Read-your-own-writes: ``StickyWritesMiddleware`` marks a user who made a successful write
  (any non-GET request) in Redis for ``REPLICA_STICKY_SECONDS``; inside the scope such a user
  reads from the primary, so a report right after an edit shows the edit whatever the lag.
  With Redis unreachable the answer is "wrote recently": the primary, never stale data.
- Never on the replica, even in the scope: the accounts app (sessions, tokens: a revocation
  must not lag) and memberships (who may read what is decided on the primary)."""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import redis
import structlog
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

from common.redis import get_client, key

logger = structlog.get_logger(__name__)

REPLICA = "replica"
PRIMARY_ONLY_APPS = frozenset({"accounts", "sessions", "auth", "contenttypes"})
PRIMARY_ONLY_MODELS = frozenset({"organizations.membership"})


@dataclass
class _Scope:
    user_id: Callable[[], object]  # resolved on the first routed read: DRF authenticates late
    decided: bool | None = field(default=None)

    def use_replica(self) -> bool:
        if self.decided is None:
            who = self.user_id()
            self.decided = who is not None and not wrote_recently(who)
        return self.decided


_scope: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar("replica_scope", default=None)


def configured() -> bool:
    return REPLICA in settings.DATABASES


def _sticky_key(user_id: object) -> str:
    return key("replica-sticky", str(user_id))


def note_write(user_id: object) -> None:
    if not configured() or settings.REPLICA_STICKY_SECONDS == 0:
        return
    try:
        get_client().set(_sticky_key(user_id), 1, ex=settings.REPLICA_STICKY_SECONDS)
    except redis.RedisError as exc:  # the user then reads the replica: a report a few seconds old
        logger.warning("replica_sticky_mark_failed", error=str(exc)[:200])


def wrote_recently(user_id: object) -> bool:
    if settings.REPLICA_STICKY_SECONDS == 0:
        return False
    try:
        return bool(get_client().exists(_sticky_key(user_id)))
    except redis.RedisError:
        return True


@contextlib.contextmanager
def replica_reads(user_id: object | Callable[[], object]) -> Iterator[None]:
    """Reads inside go to the replica (when one is configured and the user did not just write).
    ``user_id``: an id, or a function giving it when the first read is routed."""
    if not configured():
        yield
        return
    token = _scope.set(_Scope(user_id=user_id if callable(user_id) else (lambda: user_id)))
    try:
        yield
    finally:
        _scope.reset(token)


def reads_from_replica(view: Callable) -> Callable:
    """Wrap a (report) view: its reads go to the replica, for the user DRF authenticated."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        def user_id() -> object:
            user = getattr(request, "user", None)
            return user.pk if user is not None and user.is_authenticated else None

        with replica_reads(user_id):
            return view(request, *args, **kwargs)

    return wrapped


def read_connection() -> BaseDatabaseWrapper:
    """The connection for a report's raw SQL (the router decides only for the ORM): the replica
    inside ``replica_reads`` for a user who did not just write, else the primary."""
    scope = _scope.get()
    return connections[REPLICA if scope is not None and scope.use_replica() else DEFAULT_DB_ALIAS]


class ReplicaRouter:
    def db_for_read(self, model: type[Model], **hints) -> str | None:
        scope = _scope.get()
        if (
            scope is None
            or model._meta.app_label in PRIMARY_ONLY_APPS
            or model._meta.label_lower in PRIMARY_ONLY_MODELS
        ):
            return None
        return REPLICA if scope.use_replica() else None

    def db_for_write(self, model: type[Model], **hints) -> str | None:
        return None  # the primary, always

    def allow_relation(self, obj1: Model, obj2: Model, **hints) -> bool | None:
        return True  # the same data on both

    def allow_migrate(self, db: str, app_label: str, **hints) -> bool | None:
        return db != REPLICA  # the replica follows the primary's WAL


class StickyWritesMiddleware:
    """After a successful write by a signed-in user, their reports read the primary for a while."""

    SAFE = frozenset({"GET", "HEAD", "OPTIONS"})

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if configured() and request.method not in self.SAFE and response.status_code < 400:
            user = getattr(request, "user", None)  # DRF sets it on the Django request too
            if user is not None and user.is_authenticated:
                note_write(user.pk)
        return response
