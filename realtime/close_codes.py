"""The socket's close codes (SPEC: Realtime; docs/realtime.md, "Close codes"), in one place
because authentication, delivery and the liveness watchdog all close sockets."""

from __future__ import annotations

CLOSE_UNAUTHENTICATED = 4401  # missing, invalid or expired auth; the session was revoked
CLOSE_RECONNECT = 4403  # memberships changed: reconnect to get the groups they allow now
CLOSE_TOO_MUCH = 4429  # a frame over 64 KB, or more than 20 client messages in a second
CLOSE_SERVER_ERROR = 1011
