"""WakaTime's heartbeat intake, under ``/api/compat/wakatime/v1/`` (config/urls.py); the
status bar, a report, is ``reports.api.wakatime_urls``."""

from django.urls import path

from activity.api import wakatime

urlpatterns = [
    path("users/current/heartbeats.bulk", wakatime.HeartbeatsView.as_view(), name="wakatime-heartbeats-bulk"),
    path("users/current/heartbeats", wakatime.HeartbeatsView.as_view(), name="wakatime-heartbeats"),
]
