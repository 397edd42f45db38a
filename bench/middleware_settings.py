"""Bench-only settings (bench/middleware_bench.py): the project's settings with middleware removed.

``BENCH_MIDDLEWARE_DROP`` is a comma-separated list of dotted paths (or class names) to leave out
of ``MIDDLEWARE``; empty or unset keeps the full stack. config/settings.py is never edited: each
variant of the benchmark is a process started with ``DJANGO_SETTINGS_MODULE=middleware_settings``
and its own ``BENCH_MIDDLEWARE_DROP``. Unknown names are an error, so a renamed middleware cannot
silently turn a variant into the full stack."""

import os

from config.settings import *  # noqa: F403
from config.settings import MIDDLEWARE as _FULL

_drop = {name.strip() for name in os.environ.get("BENCH_MIDDLEWARE_DROP", "").split(",") if name.strip()}
_unknown = {name for name in _drop if not any(name in (path, path.rsplit(".", 1)[1]) for path in _FULL)}
if _unknown:
    raise RuntimeError(f"BENCH_MIDDLEWARE_DROP names no middleware of settings.MIDDLEWARE: {sorted(_unknown)}")
MIDDLEWARE = [path for path in _FULL if path not in _drop and path.rsplit(".", 1)[1] not in _drop]
