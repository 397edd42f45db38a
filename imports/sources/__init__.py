"""Every import source SPEC names, by its API name, and the module whose ``parse`` reads it
(imports/sources/base.py: the contract). Imported lazily: a source's module loads only when a
file of its kind is imported, and a module that does not exist yet makes its source
unsupported (400), not the app unimportable."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping

from imports.sources.base import Parser

SOURCES: dict[str, str] = {
    "toggl_csv": "imports.sources.toggl",
    "clockify_csv": "imports.sources.clockify",
    "harvest_csv": "imports.sources.harvest",
    "solidtime_csv": "imports.sources.solidtime",
    "timetagger_json": "imports.sources.timetagger",
    "activitywatch_json": "imports.sources.activitywatch",
    "wakatime_json": "imports.sources.wakatime",
    "stint_json": "imports.sources.stint_json",
}

# Named by SPEC, not built yet: asking for them is a 400 ``unsupported_source``.
COMING: frozenset[str] = frozenset()


class UnsupportedSource(LookupError):
    pass


def supported(name: str) -> bool:
    if name not in SOURCES or name in COMING:
        return False
    return importlib.util.find_spec(SOURCES[name]) is not None


def parser_for(name: str) -> Parser:
    """The ``parse`` function of source ``name``; UnsupportedSource when it has none (yet)."""
    if not supported(name):
        raise UnsupportedSource(name)
    return importlib.import_module(SOURCES[name]).parse


def field_names(name: str) -> Mapping[str, str]:
    """The column (or key) a user would look at for each of the pipeline's checks, from the
    source module's optional ``FIELDS`` (keys: email, started_at, ended_at, duration, project);
    the pipeline's own names where the module says nothing."""
    module = importlib.import_module(SOURCES[name])
    return {**DEFAULT_FIELDS, **getattr(module, "FIELDS", {})}


DEFAULT_FIELDS: dict[str, str] = {
    "email": "email",
    "started_at": "start",
    "ended_at": "end",
    "duration": "duration",
    "project": "project",
}
