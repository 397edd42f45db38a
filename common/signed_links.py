"""Short-lived signed links of our own (export downloads, screenshot files and uploads on local
storage): the signature, over what the link is for and when it was made, is the credential, so
a browser or a tracker can follow the link without a bearer token, and a leaked link dies in
minutes. Each use has its own salt, so a link for one purpose never opens another."""

from __future__ import annotations

from django.core import signing
from rest_framework.exceptions import NotFound


def link_token(*, salt: str, value: str) -> str:
    return signing.TimestampSigner(salt=salt).sign(value)


def link_value(request, *, salt: str, max_age: int) -> str:
    """The signed value of the request's ``?token=``; 404 when it is missing, forged or older
    than ``max_age`` seconds (as if the thing did not exist)."""
    try:
        return signing.TimestampSigner(salt=salt).unsign(request.query_params.get("token", ""), max_age=max_age)
    except signing.BadSignature:
        raise NotFound("This link is not valid or has expired: ask for a new one.") from None
