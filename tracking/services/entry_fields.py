"""An entry's fields: as a client gives them (``EntryData``, ``entry_data``) and as the audit
log records a change someone else made to them (``AUDITED_FIELDS``, ``audit_entry``). Apart
from ``entries`` (the writes) so that each module stays one concern and under 400 lines."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypedDict, cast

from accounts.models import User
from audit import recording as audit
from tracking.models import TimeEntry


class EntryData(TypedDict, total=False):
    """An entry's fields as a client gives them (REST body, sync item, admin form). A key
    that is absent was not given: an update changes only the keys present. A create needs
    ``project_id``, ``started_at`` and one of ``ended_at`` or ``duration_seconds``."""

    id: uuid.UUID
    project_id: uuid.UUID
    task_id: uuid.UUID | None
    description: str
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: int | None
    billable: bool
    timezone: str


def entry_data(values: Mapping[str, Any]) -> EntryData:
    """The ``EntryData`` keys of a validated body or sync item (their serializers' fields are
    these keys, as tracking/tests/test_inputs.py checks; ``company_id`` only chose the
    membership and is left out)."""
    return cast(EntryData, {key: value for key, value in values.items() if key in EntryData.__optional_keys__})


# --------------------------------------------------------------------------- audit

# What an audit row of an entry records ({field: [before, after]}): what a member would want
# to know someone else changed. Bookkeeping (updated_at, client_updated_at) is left out.
AUDITED_FIELDS = (
    "project",
    "task",
    "description",
    "started_at",
    "ended_at",
    "duration_seconds",
    "billable",
    "timezone",
)


def audit_entry(
    entry: TimeEntry, *, verb: str, actor: User | None, before: Mapping[str, Any], after: Mapping[str, Any]
) -> None:
    """``time_entry.<verb>`` when ``actor`` is not the entry's owner (SPEC: every change a user
    makes to someone else's data). No actor (a task, a command) or the owner: nothing."""
    if actor is None or actor.pk == entry.user_id:
        return
    changes = audit.diff(before, after, AUDITED_FIELDS)
    if not changes and verb == "updated":
        return  # a save that changed nothing is no change to someone's data
    audit.record(
        action=f"time_entry.{verb}",
        target_type="time_entry",
        target_id=entry.pk,
        company_id=entry.company_id,
        actor=actor,
        subject_user_id=entry.user_id,
        changes=changes,
    )
