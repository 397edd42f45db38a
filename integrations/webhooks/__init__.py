"""Webhooks' network side: the SSRF checks (``ssrf``) and the signed sender (``sender``).
The endpoints' rules are in ``integrations.services``, their reads in ``integrations.selectors``."""
