"""Webhooks' network side: the SSRF checks (``ssrf``), the signed sender (``sender``) over its
HTTP/1.1 client (``channel``), and the change-log feeder (``feeder``, with its ``make_step``,
``send_step`` and ``upkeep``). The endpoints' rules are in ``integrations.services``, their
reads in ``integrations.selectors``."""
