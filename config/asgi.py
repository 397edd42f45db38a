"""ASGI entry point: HTTP to Django, WebSockets to Channels (daphne serves both)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Django must be set up before importing anything that touches models (consumers, routing).
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.sessions import SessionMiddlewareStack  # noqa: E402

from sync.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Not channels' AllowedHostsOriginValidator: it refuses clients that send no Origin,
        # and desktop apps send none. The consumer checks Origin itself (a browser's must be in
        # REALTIME_ALLOWED_ORIGINS) and reads the session cookie only for an allowed browser.
        "websocket": SessionMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)
