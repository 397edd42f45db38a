"""JSON bodies with bounded nesting: the default parser of every DRF view (settings
REST_FRAMEWORK) and ``loads`` for code that reads a JSON text itself.

Python's decoder recurses once per level: a body of a few kilobytes nested thousands deep made
it raise RecursionError (not the ValueError DRF turns into a 400), and a body just shallow
enough to decode could still exhaust the stack later, when validated, stored as jsonb or
rendered back. No request of ours nests more than a handful of levels."""

from __future__ import annotations

import json

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_JSON_DEPTH = 32


class JSONTooDeep(ValueError):
    """A ValueError, so code that already refuses malformed JSON refuses this too."""


def check_depth(value, *, limit: int = MAX_JSON_DEPTH) -> None:
    """Raise JSONTooDeep when objects and arrays in ``value`` (decoded JSON: plain dicts and
    lists) nest deeper than ``limit``. Iterative (a deep value must not exhaust the stack here
    either), visiting containers only: about 1.5 ms for a batch of 1,000 heartbeats."""
    if not isinstance(value, dict | list):
        return
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise JSONTooDeep(f"JSON nested deeper than {limit} levels.")
        children = node.values() if isinstance(node, dict) else node
        stack.extend([(c, depth + 1) for c in children if c.__class__ is dict or c.__class__ is list])


def loads(text: str | bytes, *, limit: int = MAX_JSON_DEPTH):
    """``json.loads`` that raises ValueError (JSONTooDeep) for nesting deeper than ``limit``."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise JSONTooDeep(f"JSON nested deeper than {limit} levels.") from None
    check_depth(value, limit=limit)
    return value


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser; nesting deeper than MAX_JSON_DEPTH is a 400 like any malformed body."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
            check_depth(data)
        except (RecursionError, JSONTooDeep):
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.") from None
        return data
