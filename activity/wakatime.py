"""WakaTime's heartbeat protocol (SPEC: Bring your own tracker, WakaTime; docs/trackers-wakatime.md):
what a heartbeat may hold, how a client names its editor, how WakaTime writes a duration.
The views (``activity.api.wakatime``) call these; storing is ``activity.coding``'s.

Lenient where WakaTime's clients are: every field but ``entity``, ``type`` and ``time`` may be
null or absent, unknown fields are ignored (clients add fields over the years), and numbers
may come as strings (wakatime-cli 13 sends ``lineno`` and ``cursorpos`` as it read them from
its command line). A heartbeat that breaks a rule is refused on its own, with a message
naming the field; the others of its batch are stored."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from activity.coding import WEB_TYPES, CodingItem

MAX_HEARTBEATS = 1000  # per request (SPEC); wakatime-cli sends at most 25 (50 when it syncs its queue)
MAX_AGE = timedelta(days=180)
MAX_AHEAD = timedelta(hours=1)  # clocks drift
MAX_INT = 2**31 - 1  # the columns are PostgreSQL integers
MAX_DEPENDENCIES = 1000

# (field, most characters); entity and type are required, the others default to "".
_TEXT = {"entity": 2048, "type": 32, "category": 50, "project": 255, "branch": 255, "language": 100}
_REQUIRED = ("entity", "type")


class ItemError(ValueError):
    """A heartbeat refused on its own (the message names the field)."""


def _text(data: dict, name: str) -> str:
    value = data.get(name)
    if value is None:
        if name in _REQUIRED:
            raise ItemError(f"{name}: required.")
        return ""
    if not isinstance(value, str):
        raise ItemError(f"{name}: must be a string.")
    if name in _REQUIRED and not value.strip():
        raise ItemError(f"{name}: must not be blank.")
    if len(value) > _TEXT[name]:
        raise ItemError(f"{name}: at most {_TEXT[name]} characters.")
    if "\x00" in value:  # PostgreSQL's text refuses it
        raise ItemError(f"{name}: must not contain NUL characters.")
    return value


def _count(data: dict, name: str) -> int | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
        raise ItemError(f"{name}: must be a whole number from 0 to {MAX_INT}.")
    return value


def _time(data: dict, now: datetime, oldest: datetime | None) -> datetime:
    value = data.get("time")
    if value is None:
        raise ItemError("time: required.")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ItemError("time: must be Unix seconds.") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ItemError("time: must be Unix seconds.")
    if value > (now + MAX_AHEAD).timestamp():
        raise ItemError("time: must not be more than an hour in the future.")
    if oldest is not None:
        if value < oldest.timestamp():
            raise ItemError(f"time: must not be before {oldest:%Y-%m-%d}.")
    elif value < (now - MAX_AGE).timestamp():
        raise ItemError(f"time: must not be older than {MAX_AGE.days} days.")
    return datetime.fromtimestamp(value, UTC)


def _dependencies(data: dict) -> tuple[str, ...]:
    value = data.get("dependencies")
    if value is None:
        return ()
    if (
        not isinstance(value, list)
        or len(value) > MAX_DEPENDENCIES
        or not all(isinstance(d, str) and len(d) <= 255 and "\x00" not in d for d in value)
    ):
        raise ItemError(f"dependencies: must be a list of at most {MAX_DEPENDENCIES} names of at most 255 characters.")
    return tuple(value)


def heartbeat_parse(data: Any, *, now: datetime, oldest: datetime | None = None) -> CodingItem:
    """One heartbeat of a request body; ``ItemError`` saying what is wrong with it. ``oldest``
    replaces the live intake's 180-day bound (an import of a data dump reads years back)."""
    if not isinstance(data, dict):
        raise ItemError("Each heartbeat must be a JSON object.")
    is_write = data.get("is_write")
    if is_write is not None and not isinstance(is_write, bool):
        raise ItemError("is_write: must be true, false or null.")
    user_agent = data.get("user_agent")
    return CodingItem(
        time=_time(data, now, oldest),
        entity=_text(data, "entity"),
        type=_text(data, "type"),
        category=_text(data, "category") or "coding",
        project=_text(data, "project"),
        branch=_text(data, "branch"),
        language=_text(data, "language"),
        lines=_count(data, "lines"),
        lineno=_count(data, "lineno"),
        cursorpos=_count(data, "cursorpos"),
        is_write=bool(is_write),
        dependencies=_dependencies(data),
        editor=(editor_from_user_agent(user_agent) or None) if isinstance(user_agent, str) else None,
    )


# --------------------------------------------------------------------------- user agents

_PARENTHESES = re.compile(r"\([^)]*\)")
_RUNTIME = re.compile(r"^(python|go|node|java)\d", re.IGNORECASE)
_NOT_EDITORS = frozenset({"wakatime", "unknown", "python", "go"})


def editor_from_user_agent(user_agent: str) -> str:
    """The editor a WakaTime client names in its user agent, or "" when it names none.

    wakatime-cli sends ``wakatime/13.1.0 (Linux-6.1-x86_64-with-glibc2.36) Python3.11.7.final.0
    vscode/1.80.0 vscode-wakatime/24.0.0``: the CLI, the platform in parentheses, its runtime,
    then the ``--plugin`` it was given, the editor and its plugin. The editor is the first
    ``name/version`` that is none of the others (``vscode``); when a plugin names only itself,
    the name before ``-wakatime`` (``vim-wakatime/9`` is ``vim``); ``Unknown/0``, what the CLI
    sends without ``--plugin``, is no editor. Wakapi reads user agents the same way."""
    plugin = ""
    for token in _PARENTHESES.sub(" ", user_agent[:1000]).split():
        name, slash, _version = token.partition("/")
        lowered = name.lower()
        if not slash or not name or lowered in _NOT_EDITORS or _RUNTIME.match(name):
            continue
        if lowered.endswith("-wakatime"):
            plugin = plugin or name[: -len("-wakatime")]
            continue
        return name[:100]
    return plugin[:100]


# --------------------------------------------------------------------------- durations


def duration_text(seconds: float) -> str:
    """A duration as WakaTime's status bar writes it: "3 hrs 12 mins", rounded to the minute
    (Wakapi's ``FmtWakatimeDuration``; "0 hrs 0 mins" for nothing)."""
    minutes = math.floor(seconds / 60 + 0.5)  # half a minute up, as Go's Duration.Round (round() goes to even)
    return f"{minutes // 60} hrs {minutes % 60} mins"


# --------------------------------------------------------------------------- placeholders

# "Same as last time": what a client sends when it cannot tell (the browser extension for a
# tab that belongs to the project being coded, wakatime-cli for an app heartbeat).
PLACEHOLDERS = {"project": "<<LAST_PROJECT>>", "language": "<<LAST_LANGUAGE>>", "branch": "<<LAST_BRANCH>>"}


def has_placeholders(items: list[CodingItem]) -> bool:
    return any(getattr(item, name) == value for item in items for name, value in PLACEHOLDERS.items())


def placeholders_resolve(items: list[CodingItem], latest: tuple[str, str, str] | None) -> list[CodingItem]:
    """``items`` with WakaTime's placeholders filled in as Wakapi fills them: the project of the
    user's previous heartbeat, the language and branch of the previous heartbeat of that
    project; "" when there is none. ``latest`` is the user's newest stored ``(project,
    language, branch)``; earlier heartbeats of the batch come after it. A web heartbeat's
    placeholders are cleared (a browser tab is not the project being coded)."""
    last_project = latest[0] if latest else ""
    by_project: dict[str, tuple[str, str]] = {latest[0]: (latest[1], latest[2])} if latest else {}
    out = []
    for item in items:
        changes: dict[str, str] = {}
        web = item.type in WEB_TYPES
        project = item.project
        if project == PLACEHOLDERS["project"]:
            project = changes["project"] = "" if web else last_project
        language, branch = by_project.get(project, ("", ""))
        if item.language == PLACEHOLDERS["language"]:
            changes["language"] = "" if web else language
        if item.branch == PLACEHOLDERS["branch"]:
            changes["branch"] = "" if web else branch
        resolved = replace(item, **changes) if changes else item  # type: ignore[arg-type]  # text fields only
        if not web:
            last_project = resolved.project
            by_project[resolved.project] = (resolved.language, resolved.branch)
        out.append(resolved)
    return out
