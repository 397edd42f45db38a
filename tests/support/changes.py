"""Change-log rows written by hand, for the tests of what reads and numbers them."""

from __future__ import annotations

import uuid

from django.utils import timezone

from changelog.models import Change


def unnumbered_change(world, **fields) -> Change:
    """A committed change with no cursor yet, as a write leaves it until it is numbered (or as a
    process that died between its commit and its numbering leaves it): by default one of the
    member's time entries in company A; ``fields`` override any column."""
    row = {
        "company_id": world.a.id,
        "user_id": world.users["member"].id,
        "entity": "time_entry",
        "entity_id": uuid.uuid4(),
        "action": "upsert",
        "event": "entry.upserted",
        "payload": {},
        "at": timezone.now(),
        **fields,
    }
    return Change.objects.create(**row)
