"""The one way to write the audit log: ``record`` inside the caller's transaction, so the row
commits or rolls back with the change it describes. Request id and IP come from the request
being served (``common.request_context``); a task or command leaves them empty."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from audit.models import AuditEntry
from common import request_context


class Actor(Protocol):
    pk: Any
    email: str
    name: str


def _plain(value: Any) -> Any:
    """A JSON value for ``changes`` (ids and times as strings, model instances by their pk)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    pk = getattr(value, "pk", None)
    return str(pk) if pk is not None else str(value)


def diff(before: Mapping[str, Any], after: Mapping[str, Any], fields: Iterable[str] | None = None) -> dict[str, list]:
    """``{field: [before, after]}`` for the fields whose value changed."""
    names = fields if fields is not None else sorted(set(before) | set(after))
    changes = {}
    for name in names:
        old, new = _plain(before.get(name)), _plain(after.get(name))
        if old != new:
            changes[name] = [old, new]
    return changes


def snapshot(obj: object, fields: Iterable[str]) -> dict[str, Any]:
    """The named attributes of a model instance (``project`` reads ``project_id``)."""
    values = {}
    for name in fields:
        attname = f"{name}_id" if hasattr(obj, f"{name}_id") else name
        values[name] = getattr(obj, attname)
    return values


def record(
    *,
    action: str,
    target_type: str,
    target_id: object,
    company_id: uuid.UUID | str | None = None,
    actor: Actor | None = None,
    subject_user_id: uuid.UUID | str | None = None,
    changes: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one row. ``action``: ``<target_type>.<verb>`` (docs/audit.md lists them);
    ``subject_user_id``: whose data it is, when it is a person's (their ``?mine=true``)."""
    context = request_context.current()
    return AuditEntry.objects.create(
        company_id=company_id,
        actor_id=getattr(actor, "pk", None),
        actor_name=(getattr(actor, "name", "") or "")[:150],
        actor_email=(getattr(actor, "email", "") or "")[:254],
        subject_user_id=subject_user_id,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        changes=_plain(dict(changes or {})),
        ip=context.ip,
        request_id=context.request_id,
    )


def record_of(obj: Any, target_type: str, verb: str, *, actor: Actor | None, changes: Mapping[str, Any]) -> AuditEntry:
    """``record`` for a company's own object (a privacy rule, a webhook endpoint): nobody's
    personal data, so no subject; ``actor`` None for the system."""
    return record(
        action=f"{target_type}.{verb}",
        target_type=target_type,
        target_id=obj.pk,
        company_id=obj.company_id,
        actor=actor,
        changes=changes,
    )
