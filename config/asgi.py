"""ASGI entry point: daphne serves HTTP and WebSockets on one port.

HTTP goes to Django's WSGI handler through a2wsgi's thread pool, WebSockets to Channels.
Django's own ASGI handler hops between the event loop and a thread several times per request
(about 1 ms each here; BASELINES.md: a DRF view does 596 req/s under daphne against 4,765 under
a WSGI server), while a2wsgi makes one hop per request: ``/health/live`` went from 1.7 ms to
0.8 ms p50 under the same daphne (docs/serving.md). Our HTTP stack is synchronous anyway
(views, middleware, the ORM), so nothing is lost."""

import gc
import os

from django.conf import settings
from django.core.asgi import get_asgi_application

from config import embedded

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# A web process with no DATABASE_URL / REDIS_URL uses the embedded servers: start them (or find
# them running, as under `make run`). Importing settings does not.
embedded.start_configured(settings)
# Sets Django up before anything touches models (consumers, routing).
get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.sessions import SessionMiddlewareStack  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

from activity.intake import HeartbeatIntake  # noqa: E402
from common.throttling import LocalCounts  # noqa: E402
from config.wsgi_bridge import OneHopWSGIMiddleware  # noqa: E402
from realtime.routing import websocket_urlpatterns  # noqa: E402
from sync.lean_pull import LeanPull  # noqa: E402

_sync_limits = LocalCounts()
application = ProtocolTypeRouter(
    {
        # The ordinary heartbeat POST (activity/intake.py) and changes pull (sync/lean_pull.py)
        # are answered on the event loop, both counting the same sync limits (one count per
        # process); the rest goes to Django on a2wsgi's threads. Threads per process: requests
        # that wait on PostgreSQL overlap; the database pool (DATABASE_POOL_MAX) must be at least
        # this large.
        "http": HeartbeatIntake(
            LeanPull(
                # The stubs type Django's handler as returning a response; it is a WSGI app (its
                # response iterates as bytes), which is what a2wsgi's type means.
                OneHopWSGIMiddleware(get_wsgi_application(), workers=settings.WEB_THREADS),  # type: ignore[arg-type]
                limits=_sync_limits,
            ),
            limits=_sync_limits,
        ),
        # Not channels' AllowedHostsOriginValidator: it refuses clients that send no Origin,
        # and desktop apps send none. The consumer checks Origin itself (a browser's must be in
        # REALTIME_ALLOWED_ORIGINS) and reads the session cookie only for an allowed browser.
        "websocket": SessionMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)

# A web process holds hundreds of sockets, each a few hundred long-lived objects, and every
# fan-out makes short-lived garbage. With the default thresholds a full collection ran every
# second or two and took 130-150 ms, stalling every socket of the process (bimodal fan-out:
# p99 110 ms or 280 ms; bench/realtime_bench.py, docs/benchmarks.md). Freezing what exists
# after start-up (Django, the app: never garbage) keeps it out of every collection, and larger
# thresholds make collections rarer: 1,000 sockets' fan-out p99 went to 118 ms.
gc.collect()
gc.freeze()
gc.set_threshold(10_000, 10, 10)
