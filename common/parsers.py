"""The one JSON decoder for request bodies: the default parser of every DRF view (settings
REST_FRAMEWORK), the lean heartbeat intake and JSON sent inside form fields (``loads``).

Nesting is bounded. Python's decoder recurses once per level: a body of a few kilobytes nested
thousands deep made it raise RecursionError (not the ValueError DRF turns into a 400), and a
body just shallow enough to decode could still exhaust the stack later, when validated, stored
as jsonb or rendered back. No request of ours nests more than a handful of levels.

Text is made storable (docs/api-conventions.md). JSON may carry a lone UTF-16 surrogate
(``"\\ud800"``, valid JSON, never valid Unicode text): Python decodes it into a ``str`` that
PostgreSQL's ``text`` and ``jsonb`` refuse, and that UTF-8 cannot even encode. Left in, one such
title failed the lean heartbeat intake's shared INSERT for every other tenant's request in the
same statement (503), and a DRF error message quoting it failed to render (500). Trackers send
them for real: a window title cut in the middle of an emoji on Windows. So a lone surrogate
becomes U+FFFD, the replacement character, as browsers do for the same input (WebIDL's
USVString): the request is kept, per request, and nothing downstream ever sees one.

NUL (``"\\u0000"``) is a real character that only PostgreSQL refuses; it is not rewritten
but refused, field by field, where text is validated (DRF's ``CharField``, the heartbeat
validation), and by ``nul_path`` for free-form JSON stored as it came."""

from __future__ import annotations

import json
import re
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils.json import strict_constant

MAX_JSON_DEPTH = 32
REPLACEMENT = "\ufffd"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # json.loads joins the valid pairs: any left is lone
# In the raw body a surrogate can only arrive as a \u escape (raw surrogate bytes are not UTF-8
# and fail decoding): without one, the body needs no walk (a false positive costs a walk only).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


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


def without_surrogates(data: Any) -> Any:
    """Decoded JSON with every lone surrogate, in values and keys, replaced by U+FFFD."""
    if isinstance(data, str):
        return _LONE_SURROGATE.sub(REPLACEMENT, data)
    if isinstance(data, list):
        return [without_surrogates(item) for item in data]
    if isinstance(data, dict):
        return {without_surrogates(k): without_surrogates(v) for k, v in data.items()}
    return data


def loads(body: bytes | str, *, limit: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` for request bodies, strict as DRF's (no NaN or Infinity): ``ValueError``
    for anything that is not JSON, JSONTooDeep (a ValueError) past ``limit`` levels, and lone
    surrogates come out as U+FFFD."""
    try:
        data = json.loads(body, parse_constant=strict_constant)
    except RecursionError:
        raise JSONTooDeep(f"JSON nested deeper than {limit} levels.") from None
    check_depth(data, limit=limit)
    raw = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
    return without_surrogates(data) if _SURROGATE_ESCAPE.search(raw) else data


def nul_path(data: Any, path: str = "") -> str | None:
    """Where decoded JSON holds a NUL character (``a.0.b``, keys included), or None: for
    free-form JSON stored as ``jsonb``, which refuses ``\\u0000``."""
    if isinstance(data, str):
        return path if "\x00" in data else None
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        if isinstance(key, str) and "\x00" in key:
            return path
        found = nul_path(value, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, decoding with ``loads``: too deep or not JSON is a 400 parse error."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})  # type: ignore[attr-defined]  # DRF has it; its stubs do not
        try:
            return loads(stream.read().decode(encoding))
        except JSONTooDeep:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.") from None
        except ValueError as exc:  # not JSON, or not text in that encoding (as DRF words it)
            raise ParseError(f"JSON parse error - {exc}") from None
