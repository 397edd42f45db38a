"""The URL configuration's routes and the methods their views answer."""

from __future__ import annotations

from django.urls import URLResolver


def walk_patterns(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk_patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern.callback


def route_methods(callback) -> list[str]:
    actions = getattr(callback, "actions", None)  # a DRF viewset route: {method: action}
    if actions:
        return sorted(actions)
    view = callback.cls if hasattr(callback, "cls") else callback.view_class
    return [m for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m)]
