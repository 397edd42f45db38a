"""WebSocket delivery of the change log to dashboards and trackers."""

from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "realtime"
