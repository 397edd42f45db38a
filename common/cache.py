"""Django's Redis cache with one client per process instead of one per request.

Django keeps cache backends per context, and every request under ASGI (or in a2wsgi's copied
context) is a new context, so the stock ``RedisCache`` builds a new client, pool and
connection on each request (Django ticket #35651): about 1 ms each, and one Redis connection
opened per request. redis-py's pools are thread-safe and re-create themselves after a fork,
so one client per (servers, options) serves every thread of the process.

Django's client also builds a new ``redis.Redis`` around the pool for every cache operation,
and redis-py fills ~170 response callbacks in each one's ``__init__`` (60-130 µs here, on every
authenticated request); a ``redis.Redis`` is thread-safe, so one per pool is kept."""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property


class SharedClientsRedisCacheClient(RedisCacheClient):
    """One ``redis.Redis`` per connection pool, built on first use."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._redis: dict[int, Any] = {}

    # RedisCacheClient's own methods and attributes, left out of the Django stubs.
    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]
        client = self._redis.get(index)
        if client is None:  # two threads may both build one: either serves
            pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
            client = self._redis.setdefault(index, self._client(connection_pool=pool))  # type: ignore[attr-defined]
        return client


_clients: dict[str, RedisCacheClient] = {}
_lock = threading.Lock()


class SharedRedisCache(RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = SharedClientsRedisCacheClient

    @cached_property
    def _cache(self) -> RedisCacheClient:
        # RedisCache's own attributes (set in its __init__), left out of the Django stubs.
        servers, options, client_class = self._servers, self._options, self._class  # type: ignore[attr-defined]
        key = repr((servers, sorted(options.items())))
        with _lock:
            if key not in _clients:
                _clients[key] = client_class(servers, **options)
            return _clients[key]
