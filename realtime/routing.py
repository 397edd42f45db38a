"""WebSocket routes (SPEC: Realtime)."""

from django.urls import path

from realtime.consumers import RealtimeConsumer

websocket_urlpatterns = [
    path("ws/realtime/", RealtimeConsumer.as_asgi()),
]
