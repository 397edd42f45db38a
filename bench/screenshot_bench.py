"""Screenshots: upload latency and processing throughput for 1920×1080 PNGs, against the stack
as `make run` starts it (2 web processes, a Celery worker with 2 processes, beat).

    .venv/bin/python bench/screenshot_bench.py                 # 60 uploads, ~1 min
    .venv/bin/python bench/screenshot_bench.py --count 120 --clients 4

The images are made here with Pillow: a desktop-like 1920×1080 picture (gradient, windows,
lines of "text" strokes, some noise) so PNG sizes and decode costs are realistic (~0.5-2 MB),
each one different. Uploads are multipart `POST /api/v1/screenshots` from ``--clients`` keep-
alive connections; latency is request sent -> answer read. Processing throughput is
READY screenshots / seconds from the first upload to the last READY; the worker's CPU seconds
over the same span give seconds per screenshot per worker process. Loopback only, bounded."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stint_client import StintClient  # noqa: E402
from stint_stack import BENCH_DIR, StintStack  # noqa: E402

PASSWORD = "Zq8-" + uuid.uuid4().hex


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))], 1)


def desktop(seed: int) -> bytes:
    rnd = random.Random(seed)
    image = Image.new("RGB", (1920, 1080), (rnd.randrange(40, 80), rnd.randrange(60, 120), rnd.randrange(90, 160)))
    draw = ImageDraw.Draw(image)
    for _ in range(6):  # windows with title bars and lines of text
        x, y = rnd.randrange(0, 1400), rnd.randrange(0, 700)
        w, h = rnd.randrange(400, 900), rnd.randrange(250, 500)
        draw.rectangle([x, y, x + w, y + h], fill=(245, 245, 245), outline=(120, 120, 120))
        draw.rectangle([x, y, x + w, y + 28], fill=(220, 220, 225))
        for line in range(y + 40, y + h - 10, 18):
            cursor = x + 12
            while cursor < x + w - 40:
                word = rnd.randrange(10, 60)
                draw.line([cursor, line, cursor + word, line], fill=(30, 30, 30), width=2)
                cursor += word + 8
    noise = Image.effect_noise((1920, 1080), 6).convert("RGB")
    image = Image.blend(image, noise, 0.04)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def upload_all(base: str, token: str, images: list[bytes], clients: int) -> list[float]:
    latencies: list[float] = []
    queue: asyncio.Queue = asyncio.Queue()
    for data in images:
        queue.put_nowait(data)

    async def client() -> None:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
            while not queue.empty():
                data = queue.get_nowait()
                form = aiohttp.FormData()
                form.add_field("file", data, filename="screen.png", content_type="image/png")
                form.add_field("captured_at", datetime.now(UTC).isoformat())
                sent = time.perf_counter()
                async with session.post(f"{base}/api/v1/screenshots", data=form,
                                        headers={"Authorization": f"Bearer {token}"}) as resp:  # fmt: skip
                    body = await resp.read()
                    assert resp.status == 201, body[:300]
                latencies.append((time.perf_counter() - sent) * 1000)

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=60)
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--blur", type=int, default=2, choices=[0, 1, 2, 3])
    ap.add_argument("--out", default=str(BENCH_DIR / "results" / "screenshots.json"))
    a = ap.parse_args(argv)
    if not (1 <= a.count <= 1000 and 1 <= a.clients <= 16):
        ap.error("--count 1..1000, --clients 1..16")
    log(f"making {a.count} 1920x1080 PNGs ...")
    images = [desktop(n) for n in range(a.count)]
    result = {
        "benchmark": "screenshots",
        "command": " ".join([sys.executable, *sys.argv]),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]},
        "png_bytes": {
            "min": min(map(len, images)),
            "max": max(map(len, images)),
            "mean": round(sum(map(len, images)) / len(images)),
        },  # fmt: skip
    }
    stack = StintStack(max_lifetime=1800).start()
    try:
        owner = StintClient(stack.host, stack.port)
        company = owner.register(f"shots-{uuid.uuid4().hex[:6]}@bench.test", PASSWORD, "Shots", "Shots")["company"]
        status, body = owner.request(
            "PATCH", f"/api/v1/companies/{company['id']}",
            json.dumps({"screenshots_enabled": True, "screenshot_blur_level": a.blur}).encode(),
        )  # fmt: skip
        assert status == 200, body
        stack.wait_idle(max_wait=60)
        before = stack.cpu_snapshot()
        started = time.perf_counter()
        latencies = asyncio.run(upload_all(stack.base_url, owner.token, images, a.clients))
        uploaded = time.perf_counter() - started
        while True:
            status, body = owner.request("GET", "/api/v1/screenshots?limit=200")
            page = json.loads(body)["results"]
            ready = sum(1 for s in page if s["status"] == "READY")
            failed = sum(1 for s in page if s["status"] == "FAILED")
            if ready + failed >= a.count or time.perf_counter() - started > 600:
                break
            time.sleep(0.25)
        processed_s = time.perf_counter() - started
        cpu = stack.cpu_delta(before, stack.cpu_snapshot())
        result["upload"] = {"count": a.count, "clients": a.clients, "p50_ms": pct(latencies, 50),
                            "p99_ms": pct(latencies, 99), "seconds": round(uploaded, 1)}  # fmt: skip
        result["processing"] = {
            "ready": ready, "failed": failed, "seconds_to_last_ready": round(processed_s, 1),
            "per_second": round(ready / processed_s, 2), "worker_processes": 2,
            "per_second_per_worker_process": round(ready / processed_s / 2, 2),
            "worker_cpu_s_per_screenshot": round(cpu["worker"] / max(1, ready), 3), "server_cpu_s": cpu,
        }  # fmt: skip
        log(f"upload: {result['upload']}")
        log(f"processing: {result['processing']}")
    finally:
        stack.stop()
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=2))
    log(f"written to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
