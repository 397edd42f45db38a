from django.apps import AppConfig


class CommonConfig(AppConfig):
    """Cross-cutting pieces every app uses: base model, request ids, errors, health, logs."""

    name = "common"
