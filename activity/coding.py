"""Editor heartbeats in: the one write path of coding activity (SPEC: Bring your own tracker).

Both coding intakes end here: WakaTime's ``heartbeats.bulk`` (``activity.api.wakatime``) and
ActivityWatch's ``app.editor.activity`` events. Each heartbeat is stored once: a client that
resends (WakaTime's offline queue after a lost answer, a watcher's retry) gets ``False`` for
what is already there, and nothing is stored twice. Coding time is computed when read
(``activity.coding_time``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db import connection

from activity.privacy import REDACTED, CompiledRule, apply_privacy, privacy_rules_for

# Entity types whose entity is a web address: the company's ``url`` privacy rules read them.
WEB_TYPES = frozenset({"url", "domain"})


@dataclass(frozen=True, slots=True)
class CodingItem:
    """One editor heartbeat, validated by its intake (lengths within the model's columns,
    ``time`` aware)."""

    time: datetime
    entity: str
    type: str = "file"
    category: str = "coding"
    project: str = ""
    branch: str = ""
    language: str = ""
    lines: int | None = None
    lineno: int | None = None
    cursorpos: int | None = None
    is_write: bool = False
    dependencies: tuple[str, ...] = ()
    # The batch's editor unless set: a WakaTime heartbeat carries its own user agent, and one
    # queued offline by another plugin may be sent in the same batch as this editor's.
    editor: str | None = None


_INSERT = """
INSERT INTO activity_codingheartbeat
    (company_id, user_id, device_id, editor, time, entity, type, category, project, branch,
     language, lines, lineno, cursorpos, is_write, dependencies)
SELECT %(company)s, %(user)s, %(device)s, u.editor, u.time, u.entity, u.type, u.category, u.project,
       u.branch, u.language, u.lines, u.lineno, u.cursorpos, u.is_write, u.dependencies::jsonb
FROM unnest(%(editor)s::text[], %(time)s::timestamptz[], %(entity)s::text[], %(type)s::text[],
            %(category)s::text[], %(project)s::text[], %(branch)s::text[], %(language)s::text[],
            %(lines)s::integer[], %(lineno)s::integer[], %(cursorpos)s::integer[],
            %(is_write)s::boolean[], %(dependencies)s::text[])
     AS u(editor, time, entity, type, category, project, branch, language, lines, lineno,
          cursorpos, is_write, dependencies)
ON CONFLICT DO NOTHING
RETURNING time, entity, type
"""


def _private(item: CodingItem, editor: str, rules: list[CompiledRule]) -> tuple[str, str] | None:
    """``(editor, entity)`` after the company's privacy rules, or None when a rule drops the
    heartbeat. The rules name a window's fields; an editor heartbeat offers the same facts:
    ``app`` is the editor, ``title`` the entity (an editor's window title shows the file),
    ``url`` the entity of a web heartbeat (type url or domain)."""
    if not rules:
        return editor, item.entity
    seen = {"app": editor, "title": item.entity, "url": item.entity if item.type in WEB_TYPES else ""}
    kept = apply_privacy(seen, rules)
    if kept is None:
        return None
    entity = REDACTED if (kept["title"], kept["url"]) != (seen["title"], seen["url"]) else item.entity
    return kept["app"], entity


def coding_heartbeats_store(
    *, company_id: UUID, user_id: UUID, device_id: str, editor: str, items: Sequence[CodingItem]
) -> list[bool]:
    """Store ``items`` for the user on ``device_id`` in one statement; for each item, in order,
    True when it is new (stored, or dropped by a privacy rule: accepted, nothing to resend)
    and False when the same user, time, entity and type is already stored (or comes earlier in
    this batch)."""
    if not items:
        return []
    rules = privacy_rules_for(company_id)
    columns: dict[str, list] = {
        name: []
        for name in (
            "editor",
            "time",
            "entity",
            "type",
            "category",
            "project",
            "branch",
            "language",
            "lines",
            "lineno",
            "cursorpos",
            "is_write",
            "dependencies",
        )
    }
    keys: list[tuple[datetime, str, str] | None] = []
    for item in items:
        kept = _private(item, item.editor if item.editor is not None else editor, rules)
        if kept is None:
            keys.append(None)
            continue
        item_editor, entity = kept
        keys.append((item.time, entity, item.type))
        for name, value in (
            ("editor", item_editor),
            ("time", item.time),
            ("entity", entity),
            ("type", item.type),
            ("category", item.category),
            ("project", item.project),
            ("branch", item.branch),
            ("language", item.language),
            ("lines", item.lines),
            ("lineno", item.lineno),
            ("cursorpos", item.cursorpos),
            ("is_write", item.is_write),
            ("dependencies", json.dumps(list(item.dependencies))),
        ):
            columns[name].append(value)
    inserted: set[tuple[datetime, str, str]] = set()
    if columns["time"]:
        with connection.cursor() as cursor:
            cursor.execute(_INSERT, {"company": company_id, "user": user_id, "device": device_id, **columns})
            inserted = set(cursor.fetchall())
    # An item is new when its key was inserted and no earlier item of this batch had that key.
    results = []
    for item_key in keys:
        if item_key is None:
            results.append(True)
        elif item_key in inserted:
            inserted.discard(item_key)
            results.append(True)
        else:
            results.append(False)
    return results
