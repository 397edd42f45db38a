"""The one raw Redis client, for what Django's cache API cannot express atomically
(INCR with a window, TTL for Retry-After). Built lazily from settings.REDIS_URL."""

from __future__ import annotations

import functools

import redis
from django.conf import settings


@functools.cache
def _client_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)


def get_client() -> redis.Redis:
    return _client_for(settings.REDIS_URL)


def key(*parts: str) -> str:
    return ":".join([settings.CACHE_KEY_PREFIX, *parts])
