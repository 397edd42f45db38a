"""Where webhooks may be sent (docs/webhooks.md, "SSRF defence"): only http(s), https unless
WEBHOOK_ALLOW_PRIVATE_NETWORKS, no credentials, and no host resolving to anything but public
addresses, IPv6 disguises and integer spellings included. Literal addresses and ``localhost``
only: no test depends on outside DNS."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from integrations.webhooks import ssrf

REFUSED_ADDRESSES = [
    "https://127.0.0.1/hook",
    "https://127.8.9.10/",
    "https://localhost/hook",
    "https://localhost./hook",
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",  # IPv4-mapped loopback
    "https://[::ffff:10.0.0.1]/",  # IPv4-mapped private
    "https://[::ffff:169.254.169.254]/",
    "https://0.0.0.0/",
    "https://[::]/",
    "https://169.254.169.254/latest/meta-data/",  # the cloud metadata service
    "https://[fe80::1]/",
    "https://10.0.0.1/",
    "https://172.16.5.4/",
    "https://192.168.1.1/",
    "https://100.64.0.1/",  # carrier-grade NAT: not public
    "https://[fc00::1]/",
    "https://[fd12:3456::1]/",
    "https://224.0.0.1/",
    "https://[ff02::1]/",
    "https://240.0.0.1/",  # reserved
    "https://255.255.255.255/",
    "https://[2002:7f00:1::]/",  # 6to4 wrapping 127.0.0.1
    "https://[2002:a00:1::]/",  # 6to4 wrapping 10.0.0.1
    "https://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
    "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # Teredo
    "https://2130706433/",  # 127.0.0.1 as one decimal number
    "https://0x7f000001/",  # ... in hex
    "https://0177.0.0.1/",  # ... octal first part
    "https://127.1/",  # ... short form
]


@pytest.mark.parametrize("url", REFUSED_ADDRESSES)
def test_non_public_addresses_are_refused(url):
    with pytest.raises(ssrf.UnsafeURL, match="public addresses only"):
        ssrf.check(url, allow_private=False)


@pytest.mark.parametrize("url", REFUSED_ADDRESSES)
def test_the_setting_allows_them_for_development(url):
    target = ssrf.check(url.replace("https://", "http://"), allow_private=True)
    assert target.addresses


def test_a_public_address_passes_and_is_what_the_sender_connects_to():
    target = ssrf.check("https://93.184.216.34:8443/hook?x=1", allow_private=False)
    assert [str(a) for a in target.addresses] == ["93.184.216.34"]
    assert (target.host, target.port) == ("93.184.216.34", 8443)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://93.184.216.34/hook", "must use https"),
        ("ftp://93.184.216.34/hook", "Only http and https"),
        ("file:///etc/passwd", "Only http and https"),
        ("gopher://93.184.216.34/", "Only http and https"),
        ("https://user:pass@93.184.216.34/hook", "Credentials"),
        ("https://user@93.184.216.34/hook", "Credentials"),
        ("https://:pass@93.184.216.34/hook", "Credentials"),
        ("https:///hook", "no host"),
        ("https://93.184.216.34:99999/", "Not a valid URL"),
        ("not a url", "Only http and https"),
    ],
)
def test_the_urls_form_is_checked_first(url, words):
    with pytest.raises(ssrf.UnsafeURL, match=words):
        ssrf.check(url, allow_private=False)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/", "http://u:p@127.0.0.1/"])
def test_the_setting_never_allows_other_schemes_nor_credentials(url):
    with pytest.raises(ssrf.UnsafeURL):
        ssrf.check(url, allow_private=True)


def test_every_resolved_address_must_be_public_not_only_the_first(monkeypatch):
    real = socket.getaddrinfo

    def two_addresses(host, port, *args, **kwargs):
        if host == "mixed.example":
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port)),
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", two_addresses)
    with pytest.raises(ssrf.UnsafeURL, match=r"10\.1\.2\.3"):
        ssrf.check("https://mixed.example/hook", allow_private=False)


def test_a_host_that_does_not_resolve_is_refused():
    with pytest.raises(ssrf.UnsafeURL, match="does not resolve"):
        ssrf.check("https://nothing.invalid/hook", allow_private=False)


@pytest.mark.parametrize(
    ("url", "address", "port", "path", "host", "tls_name"),
    [
        ("https://hooks.example/in?x=1", "93.184.216.34", 443, "/in?x=1", "hooks.example", "hooks.example"),
        ("https://hooks.example:8443", "93.184.216.34", 8443, "/", "hooks.example:8443", "hooks.example"),
        ("http://hooks.example/in", "2606:2800:220:1::1", 80, "/in", "hooks.example", None),
        (
            "https://[2606:2800:220:1::1]/in",
            "2606:2800:220:1::1",
            443,
            "/in",
            "[2606:2800:220:1::1]",
            "2606:2800:220:1::1",
        ),
    ],
)
def test_the_sender_is_pinned_to_the_checked_address_with_the_names_host_and_tls_name(
    url, address, port, path, host, tls_name
):
    """The request goes to the checked address; Host and the TLS name (SNI, and the name the
    certificate is verified against) stay the URL's, so https still proves who answered."""
    from integrations.webhooks import channel

    parts, name, parsed_port = ssrf.parse(url, allow_private=True)
    target = ssrf.Target(url=parts, host=name, port=parsed_port, addresses=(ipaddress.ip_address(address),))

    pinned = channel.pin(target)

    assert (str(pinned.address), pinned.port, pinned.path) == (address, port, path)
    assert pinned.host_header == host
    assert pinned.tls_name == tls_name


def test_the_shared_tls_context_still_verifies_certificates_and_names():
    """The sender builds its TLS context once per process (building it per attempt was most of
    a delivery's CPU): the shared one must still refuse an unverified certificate or name."""
    import ssl

    from integrations.webhooks import channel

    context = channel.tls_context()

    assert context is channel.tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.cert_store_stats()["x509_ca"] > 0  # the CA bundle is loaded: public certificates verify
