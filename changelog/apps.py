"""The durable change log: recording, sequencing, audiences, publishing. Below every domain app."""

from django.apps import AppConfig


class ChangelogConfig(AppConfig):
    name = "changelog"
