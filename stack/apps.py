"""The whole stack in one command (runstack) and its demo data (seed_demo)."""

from django.apps import AppConfig


class StackConfig(AppConfig):
    name = "stack"
