"""Webhooks' network side: the SSRF checks (``ssrf``) and the signed sender (``sender``) over
its HTTP/1.1 client (``channel``). The endpoints' rules are in ``integrations.services``, their
reads in ``integrations.selectors``."""
