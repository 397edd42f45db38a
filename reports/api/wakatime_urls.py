"""WakaTime's status bar under ``/api/compat/wakatime/v1/`` (config/urls.py), beside the
intake of ``activity.api.wakatime_urls``."""

from django.urls import path

from reports.api import wakatime

urlpatterns = [
    path("users/current/statusbar/today", wakatime.StatusBarTodayView.as_view(), name="wakatime-statusbar-today"),
]
