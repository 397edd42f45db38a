"""What an idle realtime socket allocates in one process, by source line (tracemalloc).

    DEBUG=false DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/realtime_memory.py --sockets 1000

Opens ``--sockets`` sockets of one new user through ``config.asgi.application`` in this
process (channels' ``WebsocketCommunicator`` standing in for daphne: its queues are counted,
daphne's own per-connection objects are not), and compares tracemalloc snapshots taken
before and after them (after 20 warm-up sockets and a full collection). ``SRC`` picks the
source tree to measure (another worktree, for a before/after; run it from outside both trees,
e.g. ``cd /tmp``, or the current directory's tree is imported). Migrated database needed;
DEBUG=false, or Django's query log is counted too. docs/benchmarks.md, "Realtime on two nodes"."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tracemalloc
import uuid
from pathlib import Path

sys.path.insert(0, os.environ.get("SRC") or str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from asgiref.sync import sync_to_async  # noqa: E402
from channels.testing import WebsocketCommunicator  # noqa: E402

from accounts.models import User  # noqa: E402
from config.asgi import application  # noqa: E402
from tests.support.sockets import device  # noqa: E402


def _token() -> str:
    user = User.objects.create_user(email=f"mem-{uuid.uuid4().hex[:8]}@bench.test", password="Bench-memory-1!")
    return device(user)[0]


async def _measure(n: int, top: int) -> None:
    token = await sync_to_async(_token)()

    async def one() -> WebsocketCommunicator:
        comm = WebsocketCommunicator(application, "/ws/realtime/", subprotocols=["bearer", token])
        connected, _ = await comm.connect(timeout=30)
        assert connected
        return comm

    comms = [await one() for _ in range(20)]  # warm-up: caches, pools, the process's hub
    await asyncio.sleep(1)
    gc.collect()
    tracemalloc.start(1)
    before = tracemalloc.take_snapshot()
    comms += [await one() for _ in range(n)]
    await asyncio.sleep(2)
    gc.collect()
    after = tracemalloc.take_snapshot()
    own = [tracemalloc.Filter(False, tracemalloc.__file__)]
    for key in ("lineno", "filename"):
        diff = after.filter_traces(own).compare_to(before.filter_traces(own), key)
        if key == "lineno":
            print(f"{sum(d.size_diff for d in diff) / n / 1024:.2f} KB per socket over {n} sockets")
        print(f"--- by {key}")
        for d in diff[:top]:
            frame = d.traceback[0]
            where = frame.filename.split("site-packages/")[-1] + (f":{frame.lineno}" if key == "lineno" else "")
            print(f"{d.size_diff / n:8.0f} B {d.count_diff / n:5.1f} objects  {where}")
    for comm in comms:
        await comm.disconnect()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sockets", type=int, default=1000)
    ap.add_argument("--top", type=int, default=25)
    a = ap.parse_args()
    asyncio.run(_measure(a.sockets, a.top))


if __name__ == "__main__":
    main()
