"""Heartbeats, app usage, activity samples and privacy rules."""

from django.apps import AppConfig


class ActivityConfig(AppConfig):
    name = "activity"
