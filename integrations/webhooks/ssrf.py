"""Where a webhook may be sent (docs/webhooks.md, "SSRF defence"): the one place that decides.

A company types the URL and Stint's servers call it, so a URL must not reach anything a
stranger on the internet could not: loopback, the private networks, link-local (the cloud
metadata service at 169.254.169.254), multicast, reserved and unspecified addresses, nor those
addresses dressed as IPv6 (IPv4-mapped ``::ffff:127.0.0.1``, 6to4, Teredo, NAT64). Every
address the name resolves to must pass, not just the first: a name with one public and one
private address is refused. Checked when the URL is saved and again before every send, and the
send connects to the address that was checked (``Target.addresses``), never to a second lookup
(DNS rebinding). ``WEBHOOK_ALLOW_PRIVATE_NETWORKS`` lifts the address and https rules, never
the scheme or credentials rules."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
DEFAULT_PORTS = {"http": 80, "https": 443}
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeURL(ValueError):
    """The URL may not be called; the message says why, in words for the person who typed it."""


@dataclass(frozen=True)
class Target:
    url: SplitResult
    host: str  # as written (lower case, no brackets): the Host header and the TLS name
    port: int
    addresses: tuple[IPAddress, ...]  # resolved and checked: connect to one of these only


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries and that a router would reach."""
    found = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)  # (server, client)
    if address in NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def refusal(address: IPAddress) -> str | None:
    """Why ``address`` is not a public one (None: it is)."""
    if isinstance(address, ipaddress.IPv6Address):
        for inner in _embedded_ipv4(address):
            if (why := refusal(inner)) is not None:
                return f"{why} (inside the IPv6 address {address})"
    checks = (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private-network address"),
        ("is_reserved", "a reserved address"),
    )
    for attribute, words in checks:
        if getattr(address, attribute):
            return f"{words} ({address})"
    if not address.is_global:  # shared (100.64/10 carrier-grade NAT), documentation ranges...
        return f"not a public address ({address})"
    return None


def parse(url: str, *, allow_private: bool | None = None) -> tuple[SplitResult, str, int]:
    """The URL's parts, when its form is allowed: http(s), https unless private networks are
    allowed, a host, no credentials, a valid port."""
    if allow_private is None:
        allow_private = settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeURL("Not a valid URL (check the host and port).") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UnsafeURL("Only http and https URLs can receive webhooks.")
    if scheme != "https" and not allow_private:
        raise UnsafeURL("The URL must use https.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeURL("Credentials in the URL are not allowed: check the signature instead.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeURL("The URL has no host.")
    return parts, host, port or DEFAULT_PORTS[scheme]


def resolve(host: str, port: int) -> tuple[IPAddress, ...]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeURL(f"The host {host} does not resolve.") from None
    addresses: list[IPAddress] = []
    for *_, sockaddr in infos:
        # An IPv6 sockaddr may carry a zone ("fe80::1%eth0"): the address is what is checked.
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnsafeURL(f"The host {host} does not resolve.")
    return tuple(addresses)


def check(url: str, *, allow_private: bool | None = None) -> Target:
    """The URL's checked target, or ``UnsafeURL`` saying why it may not be called. Resolves the
    host (getaddrinfo: also what makes ``http://2130706433/`` the 127.0.0.1 it is)."""
    if allow_private is None:
        allow_private = settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS
    parts, host, port = parse(url, allow_private=allow_private)
    addresses = resolve(host, port)
    if not allow_private:
        for address in addresses:
            if (why := refusal(address)) is not None:
                raise UnsafeURL(f"The host {host} resolves to {why}: webhooks go to public addresses only.")
    return Target(url=parts, host=host, port=port, addresses=addresses)
