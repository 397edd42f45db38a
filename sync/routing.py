"""WebSocket routes. /ws/realtime/ arrives with the sync and realtime issue."""

websocket_urlpatterns: list = []
