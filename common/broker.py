"""What the Celery broker holds: the queue a task goes to and how many messages wait there."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from kombu import Connection


def queue_lengths(names: Iterable[str]) -> dict[str, int]:
    """Messages waiting in each named queue (the broker's own count; a reserved or running
    message is no longer waiting). Raises the broker's connection errors."""
    lengths = {}
    with Connection(
        settings.CELERY_BROKER_URL, connect_timeout=2, transport_options={"socket_timeout": 2, "max_retries": 0}
    ) as conn:
        channel = conn.default_channel
        for name in sorted(set(names)):
            try:
                lengths[name] = channel.queue_declare(queue=name, passive=True).message_count
            except conn.channel_errors:  # never declared yet: nothing waits in it
                lengths[name] = 0
    return lengths


def queue_of(task_name: str) -> str:
    """The queue this process sends ``task_name`` to (its route, else the default queue)."""
    from config.celery import app

    route = app.amqp.router.route({}, task_name)
    return route["queue"].name
