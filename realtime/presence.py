"""Who is online (docs/realtime.md, "Presence"): sockets counted in Redis, and
``presence.changed`` to the user's companies' managers and their own devices when their first
socket opens or their last one closes. Not in the change log: its cursor is null.

One sorted set per user: a member per open socket, scored by its last refresh (the liveness
watchdog refreshes every socket of its process in one pipeline). Counting fresh members
(instead of INCR/DECR) means a web process that dies without closing its sockets cannot leave
a user "online" for as long as their other sockets keep the key alive."""

from __future__ import annotations

import time

from django.utils import timezone

from changelog import audience, catalogue, publishing
from common.redis import get_client, key
from realtime.identity import Identity

TTL_SECONDS = 30  # a socket not refreshed for this long no longer counts

_OPEN = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[3]))
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return redis.call('ZCARD', KEYS[1])
"""
_CLOSE = """
local removed = redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[3]))
return {removed, redis.call('ZCARD', KEYS[1])}
"""


def _key(user_id) -> str:
    return key("presence", str(user_id))


def presence_open(user_id, member: str, ttl: int = TTL_SECONDS) -> bool:
    """Count this socket in; True when it is the user's first. Blocking (Redis)."""
    return get_client().eval(_OPEN, 1, _key(user_id), time.time(), member, ttl) == 1


def presence_close(user_id, member: str, ttl: int = TTL_SECONDS) -> bool:
    """Count this socket out; True when it was the user's last. Blocking (Redis)."""
    removed, left = get_client().eval(_CLOSE, 1, _key(user_id), time.time(), member, ttl)
    return removed == 1 and left == 0


def presence_refresh_many(members: list[tuple[object, str]], ttl: int = TTL_SECONDS) -> None:
    """Keep many sockets (user id, member) counted, in one pipeline. Blocking (Redis)."""
    if not members:
        return
    now = time.time()
    by_user: dict[object, dict[str, float]] = {}
    for user_id, member in members:
        by_user.setdefault(user_id, {})[member] = now
    # One ZADD and one EXPIRE per user, not per socket: a user's devices and dashboards share a
    # key (a process holding 1,250 sockets of few users sent 2,500 commands every few seconds).
    pipe = get_client().pipeline(transaction=False)
    for user_id, scores in by_user.items():
        pipe.zadd(_key(user_id), scores)
        pipe.expire(_key(user_id), ttl)
    pipe.execute()


async def presence_announce(channel_layer, *, identity: Identity, online: bool) -> None:
    """``presence.changed`` to the managers' group of each of the user's companies, and to the
    user's own group."""
    now = timezone.now()
    data: catalogue.PresencePayload = {"user_id": str(identity.user.pk), "online": online}
    targets: list[tuple[str, object]] = [
        (audience.company_managers_group(m.company_id), m.company_id) for m in identity.memberships
    ]
    targets.append((audience.user_group(identity.user.pk), None))
    for group, company_id in targets:
        event = publishing.envelope(
            event=catalogue.PRESENCE_CHANGED.name, cursor=None, company_id=company_id, data=data, at=now
        )
        await channel_layer.group_send(
            group, {"type": publishing.EVENT_MESSAGE, "event": event, "group": group, "prev": None}
        )
