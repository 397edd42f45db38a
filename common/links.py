"""Absolute links to Stint's own pages, for emails and API answers (a password-reset link, an
invitation's ``accept_url``): the one place that decides which address they carry."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def public_url(path: str, *, request: HttpRequest | None = None) -> str:
    """``path`` (starting with ``/``) made absolute: on ``PUBLIC_URL`` when it is configured
    (behind a proxy, only the operator knows the address people use); else on the address of
    the request being answered (``get_host`` checks it against ALLOWED_HOSTS, so a forged Host
    header cannot point a link elsewhere); else, with no request (a Celery task), on the local
    ``make run`` address, ``http://127.0.0.1:$PORT``."""
    if settings.PUBLIC_URL:
        return settings.PUBLIC_URL + path
    if request is not None:
        return request.build_absolute_uri(path)
    return f"http://127.0.0.1:{settings.PORT}{path}"
