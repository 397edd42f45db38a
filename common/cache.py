"""Django's Redis cache with one client per process instead of one per request.

Django keeps cache backends per context, and every request under ASGI (or in a2wsgi's copied
context) is a new context, so the stock ``RedisCache`` builds a new client, pool and
connection on each request (Django ticket #35651): about 1 ms each, and one Redis connection
opened per request. redis-py's pools are thread-safe and re-create themselves after a fork,
so one client per (servers, options) serves every thread of the process."""

from __future__ import annotations

import threading

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property

_clients: dict[str, RedisCacheClient] = {}
_lock = threading.Lock()


class SharedRedisCache(RedisCache):
    @cached_property
    def _cache(self) -> RedisCacheClient:
        # RedisCache's own attributes (set in its __init__), left out of the Django stubs.
        servers, options, client_class = self._servers, self._options, self._class  # type: ignore[attr-defined]
        key = repr((servers, sorted(options.items())))
        with _lock:
            if key not in _clients:
                _clients[key] = client_class(servers, **options)
            return _clients[key]
