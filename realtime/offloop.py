"""How the realtime code leaves the event loop for blocking work (ORM and Redis)."""

from __future__ import annotations

from channels.db import database_sync_to_async


def off_loop(fn):
    """ORM and Redis calls, off the event loop, on channels' one shared thread per process
    (thread-sensitive, its default). Pool threads (thread_sensitive=False) would let sockets'
    calls run in parallel, but leaked pooled database connections in our tests; each call
    here is a few milliseconds, and sockets connect far less often than they receive."""
    return database_sync_to_async(fn)
