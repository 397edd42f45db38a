"""common/cache.py: one Redis client per process serves every thread's cache operations."""

from __future__ import annotations

import threading

from django.core.cache import cache


def test_every_thread_uses_the_one_client_and_the_cache_works():
    clients, errors = [], []

    def work(i: int) -> None:
        try:
            cache.set(f"test-cache-{i}", {"n": i}, 30)
            assert cache.get_many([f"test-cache-{i}", "test-cache-missing"]) == {f"test-cache-{i}": {"n": i}}
            clients.append(cache._cache.get_client(write=True))  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({id(c) for c in clients}) == 1
    cache.delete_many([f"test-cache-{i}" for i in range(4)])
