"""Rate limits counted in Redis, shared by every process (SPEC: Operations).

One plain function, ``hit``, does the counting for the DRF throttles below; ``LocalCounts``
counts for the lean heartbeat intake with the same keys and windows, adding its counts to
Redis in batches instead of one round trip per request.

Each (scope, ident) has a fixed window that starts with its first request. Every request counts,
the refused ones too, so a client hammering through its 429s stays refused until the window
ends; the window's remaining TTL is the ``Retry-After``. Rates come from
``settings.THROTTLE_RATES`` (``THROTTLE_*_RATE`` in the environment), read on each call so tests
can change them.

``add`` is the one counter behind every limit here and the login-failure limit
(``accounts/throttling.py``): one Lua script that changes a count and its expiry together, so
no sequence of calls can leave a count without a window (see ``_COUNT``)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import time

import redis
import structlog
from django.conf import settings
from rest_framework.throttling import BaseThrottle

from common.redis import get_client, key

logger = structlog.get_logger(__name__)


# One script call per request (or per batch), whatever the number of keys. ARGV holds (window
# seconds, amount) per key. Adding opens the window when there is none (SET NX EX); giving back
# (a negative amount) or reading (0) never opens one: the window the slot was taken from is
# over, and a DECR there would create a count with no expiry, a lockout that never ends
# (issue #15: a window that ended during a slow password check). A count found without an
# expiry (left by that old DECR) gets one, and a count never goes below zero.
_COUNT = """
local out = {}
for i, name in ipairs(KEYS) do
    local window, amount = ARGV[2 * i - 1], tonumber(ARGV[2 * i])
    if amount > 0 then
        redis.call('SET', name, 0, 'EX', window, 'NX')
    end
    local ttl = redis.call('TTL', name)
    if ttl == -2 then
        out[2 * i - 1], out[2 * i] = 0, 0
    else
        if ttl == -1 then
            redis.call('EXPIRE', name, window)
            ttl = tonumber(window)
        end
        local count = redis.call('INCRBY', name, amount)
        if count < 0 then
            redis.call('SET', name, 0, 'KEEPTTL')
            count = 0
        end
        out[2 * i - 1], out[2 * i] = count, ttl
    end
end
return out
"""


def add(counts: list[tuple[str, int, int]]) -> list[tuple[int, int]]:
    """The one counter: for each ``(Redis key, window seconds, amount)`` add ``amount`` to the
    window's count and return ``(count, seconds left in the window)`` (``(0, 0)`` when a give-back
    or a read finds no window). Atomic with the expiry, in one round trip."""
    client = get_client()
    args = [value for _name, seconds, amount in counts for value in (seconds, amount)]
    results = _script(client)(keys=[name for name, _s, _a in counts], args=args, client=client)
    return [(int(count), int(ttl)) for count, ttl in zip(results[0::2], results[1::2], strict=True)]


def hit(checks: list[tuple[str, str]]) -> int | None:
    """Count one request against each ``(scope, ident)``; return the seconds to wait when any
    of them is over its limit (the longest wait), else None. A scope whose rate is off
    (``THROTTLE_<SCOPE>_RATE=off``) is not counted."""
    rated = _rated(checks)
    if not rated:
        return None
    results = add([(name, seconds, 1) for name, (_s, _i, (_limit, seconds)) in zip(_keys(rated), rated, strict=True)])
    limits = [limit for _s, _i, (limit, _seconds) in rated]
    return longest_wait(results, limits)


class LocalCounts:
    """The same limits for a hot asyncio path (the lean heartbeat intake, ``activity/intake.py``),
    without a Redis round trip per request: this process counts locally and a background
    task adds its counts to the same Redis keys every ``FLUSH_SECONDS``, reading back the
    totals. A request is refused when the total as of the last flush plus this process's
    unflushed count is over the limit, so across processes a user gets at most what the
    other processes accepted in the last tenth of a second beyond it. When Redis is away the
    counts wait for it and the limits fail open, as the per-user DRF throttles do."""

    FLUSH_SECONDS = 0.1

    def __init__(self):
        self.pending: dict[str, int] = {}  # Redis key -> requests not added yet
        self.windows: dict[str, int] = {}  # Redis key -> window seconds
        self.known: dict[str, tuple[int, float]] = {}  # Redis key -> (total, window end, monotonic)
        self._task = None

    def check(self, checks: list[tuple[str, str]]) -> int | None:
        """Count one request; the seconds to wait if it is over a limit, else None."""
        rated = _rated(checks)
        now = time.monotonic()
        waits = []
        for (_scope, _ident, (limit, seconds)), name in zip(rated, _keys(rated), strict=True):
            total, ends = self.known.get(name, (0, 0.0))
            if ends <= now:  # that window is over (or never seen)
                total, ends = 0, now + seconds
            self.pending[name] = self.pending.get(name, 0) + 1  # refused requests count too
            self.windows[name] = seconds
            if total + self.pending[name] > limit:
                waits.append(max(int(ends - now + 0.999), 1))
        return max(waits) if waits else None

    def start(self, client) -> None:
        """Run the flushing task on the current event loop (once)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._flush_forever(client))

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        if task.get_loop() is not asyncio.get_running_loop():  # started on another loop (tests' own)
            with contextlib.suppress(RuntimeError):  # that loop is closed already: nothing runs
                task.get_loop().call_soon_threadsafe(task.cancel)
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _flush_forever(self, client) -> None:
        while True:
            await asyncio.sleep(self.FLUSH_SECONDS)
            try:
                await self.flush(client)
            except Exception:  # Redis away: keep the counts for the next try, fail open
                logger.warning("throttle_unavailable", exc_info=True)

    async def flush(self, client) -> None:
        """Add the pending counts to Redis and read back every total this process tracks
        (``client``: a ``redis.asyncio.Redis`` of REDIS_URL)."""
        now = time.monotonic()
        names = [name for name in self.windows if name in self.pending or self.known.get(name, (0, 0.0))[1] > now]
        if not names:
            return
        pending, self.pending = self.pending, {}
        args = [value for name in names for value in (self.windows[name], pending.get(name, 0))]
        try:
            results = await _script(client)(keys=names, args=args)
        except BaseException:  # Redis away, or the task cancelled mid-flush: the counts wait
            for name, count in pending.items():
                self.pending[name] = self.pending.get(name, 0) + count
            raise
        now = time.monotonic()
        for n, name in enumerate(names):
            total, ttl = results[2 * n], results[2 * n + 1]
            self.known[name] = (int(total), now + max(int(ttl), 0))
        for name in [
            name for name in self.windows if name not in self.pending and self.known.get(name, (0, 0.0))[1] <= now
        ]:
            self.windows.pop(name)
            self.known.pop(name, None)


_scripts: dict[int, object] = {}


def _script(client):
    """The counting script registered on ``client`` (EVALSHA; redis-py loads it again after a
    Redis restart)."""
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts[id(client)] = client.register_script(_COUNT)
    return script


def _rated(checks):
    rated = [(scope, ident, settings.THROTTLE_RATES.get(scope)) for scope, ident in checks]
    return [(scope, ident, rate) for scope, ident, rate in rated if rate is not None]


def _keys(rated) -> list[str]:
    return [key("throttle", scope, ident) for scope, ident, _rate in rated]


def longest_wait(results: list[tuple[int, int]], limits: list[int]) -> int | None:
    """The seconds to wait for the count (``add``'s results) furthest over its limit, else None."""
    waits = [max(ttl, 1) for (count, ttl), limit in zip(results, limits, strict=True) if count > limit]
    return max(waits) if waits else None


def throttled_body(wait: int) -> dict:
    """The 429 body in the standard error shape, worded as DRF words its own."""
    from common.exceptions import error_body  # DRF's settings import this module from there

    return error_body(
        type_="client_error", code="throttled", detail=f"Request was throttled. Expected available in {wait} seconds."
    )


def client_ip(*, remote_addr: str | None, forwarded_for: str | None) -> str | None:
    """The client's address: REMOTE_ADDR, unless ``NUM_PROXIES`` trusted proxies stand in front,
    then the address the outermost of them saw (that many entries from the right of
    X-Forwarded-For). Anything further left was written by the client and proves nothing."""
    proxies = settings.NUM_PROXIES
    if proxies == 0 or not forwarded_for:
        return remote_addr or None
    addrs = [a.strip() for a in forwarded_for.split(",")]
    candidate = addrs[-min(proxies, len(addrs))]
    try:  # a proxy that forgot to append gives the client's own text: never trust junk
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote_addr or None


def request_ip(request) -> str | None:
    return client_ip(remote_addr=request.META.get("REMOTE_ADDR"), forwarded_for=request.headers.get("X-Forwarded-For"))


class RedisThrottle(BaseThrottle):
    """A DRF throttle over ``hit``: every scope in ``scopes`` counted for one ident."""

    scopes: tuple[str, ...] = ()
    # Per-user limits guard capacity, not secrets: with Redis down, serve rather than 503
    # every request. Limits on anonymous endpoints guard against guessing: they fail closed.
    fail_open = False

    def __init__(self):
        self._wait: int | None = None

    def ident(self, request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        ident = self.ident(request)
        if ident is None:
            return True
        try:
            self._wait = hit([(scope, ident) for scope in self.scopes])
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
            if not self.fail_open:
                raise
            logger.warning("throttle_unavailable", scopes=list(self.scopes))
            return True
        return self._wait is None

    def wait(self) -> int | None:
        return self._wait


SYNC_SCOPES = ("user", "sync")


class UserThrottle(RedisThrottle):
    """The global per-user limit, on every authenticated API request (the default)."""

    scopes: tuple[str, ...] = ("user",)
    fail_open = True

    def ident(self, request) -> str | None:
        user = getattr(request, "user", None)
        return str(user.pk) if user is not None and user.is_authenticated else None


class SyncThrottle(UserThrottle):
    """``/api/v1/sync/*``: the per-user sync limit and the global one, in one round trip
    (the lean heartbeat intake, ``activity/intake.py``, counts the same ``SYNC_SCOPES``)."""

    scopes = SYNC_SCOPES


class IPThrottle(RedisThrottle):
    """Per client address, for endpoints anyone may call."""

    def ident(self, request) -> str | None:
        return request_ip(request) or "unknown"


class LoginThrottle(IPThrottle):
    scopes = ("login",)


class RegisterThrottle(IPThrottle):
    scopes = ("register",)


class PasswordResetThrottle(IPThrottle):
    scopes = ("password_reset",)


class RefreshThrottle(IPThrottle):
    scopes = ("refresh",)
