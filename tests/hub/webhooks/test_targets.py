"""The SSRF guard: which webhook targets are refused, and where a delivery connects."""

from __future__ import annotations

import re

import pytest

from hub.errors import TargetRefused
from hub.webhooks.targets import check_target


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://10.1.2.3/hook",
        "http://100.64.0.1/hook",  # shared address space (carrier-grade NAT)
        "http://169.254.169.254/latest/meta-data",  # cloud metadata
        "http://192.168.1.1:8080/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[::ffff:10.0.0.1]/hook",  # IPv4-mapped
        "http://[2002:a00:1::1]/hook",  # 6to4 around 10.0.0.1
        "http://[64:ff9b::7f00:1]/hook",  # NAT64 (well-known prefix) around 127.0.0.1
        "http://[64:ff9b::a00:1]/hook",  # NAT64 around 10.0.0.1
        "http://[64:ff9b::5db8:d822]/hook",  # NAT64 even around a public IPv4: a gateway's
        "http://[64:ff9b:1::a00:1]/hook",  # local-use NAT64 prefix (RFC 8215)
        "http://[::127.0.0.1]/hook",  # IPv4-compatible (deprecated) around 127.0.0.1
        "http://[::5db8:d822]/hook",  # IPv4-compatible, whatever it embeds
        "http://[::ffff:0:7f00:1]/hook",  # IPv4-translated (SIIT) around 127.0.0.1
        "http://localhost/hook",
    ],
)
async def test_internal_targets_are_refused(url: str) -> None:
    with pytest.raises(TargetRefused, match="internal address"):
        await check_target(url, allow_private=False)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://93.184.216.34/hook", "http:// or https://"),
        ("https://user:pw@93.184.216.34/hook", "user name or password"),
        ("http://[::1/hook", "not a valid URL"),
    ],
)
async def test_malformed_targets_are_refused_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(TargetRefused, match=reason):
        await check_target(url, allow_private=True)


async def test_a_public_target_is_pinned_to_the_checked_address_with_its_host_kept() -> None:
    target = await check_target("https://93.184.216.34:8443/hooks?x=1", allow_private=False)

    assert target.address == "93.184.216.34"
    assert target.pinned_url == "https://93.184.216.34:8443/hooks?x=1"
    assert target.host_header == "93.184.216.34:8443"
    assert target.server_name == "93.184.216.34"


async def test_an_ipv6_target_is_pinned_in_brackets_with_the_default_port() -> None:
    target = await check_target("http://[2606:4700:4700::1111]/hook", allow_private=False)

    assert target.pinned_url == "http://[2606:4700:4700::1111]:80/hook"
    assert target.host_header == "[2606:4700:4700::1111]"


async def test_private_targets_are_used_as_given_when_allowed() -> None:
    target = await check_target("http://localhost:9000/hook", allow_private=True)

    assert target.address is None
    assert target.pinned_url == "http://localhost:9000/hook"
    assert target.host_header == "localhost:9000"


@pytest.mark.parametrize(
    ("url", "sent"),
    [
        ("http://93.184.216.34/a b?q=c d", "http://93.184.216.34:80/a%20b?q=c%20d"),
        ("http://93.184.216.34/%C3%A9/é", "http://93.184.216.34:80/%C3%A9/%C3%A9"),  # kept as is
        ("http://93.184.216.34/a%2fb%zz", "http://93.184.216.34:80/a%2fb%25zz"),
        ("http://93.184.216.34/h#frag ment", "http://93.184.216.34:80/h#frag%20ment"),
        ("  http://93.184.216.34/h  ", "http://93.184.216.34:80/h"),  # pasted with spaces
    ],
)
async def test_a_target_is_sent_percent_encoded_where_http_needs_it(url: str, sent: str) -> None:
    target = await check_target(url, allow_private=False)

    assert target.pinned_url == sent


async def test_an_ipv6_literal_is_written_in_its_short_form() -> None:
    target = await check_target("http://[2606:4700:4700:0:0:0:0:1111]:8080/h", allow_private=True)

    assert target.url == "http://[2606:4700:4700::1111]:8080/h"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://93.184.216.34/a\rb", "control character (U+000D) at position 23"),
        ("http://93.184.216.34/\u0085", "control character (U+0085)"),
        ("http://93.184.216.34/\ud800", "not valid Unicode"),
        ("http://[fe80::1%25eth0]/h", "not an IPv6 address"),
        ("http://-bad-.example/h", "not a domain name or IP address"),
        ("http://" + "a" * 64 + ".example/h", "not a domain name or IP address"),
        ("http://93.184.216.34:0/h", "port must be a number from 1 to 65535"),
        ("http://93.184.216.34:http/h", "port must be a number from 1 to 65535"),
        ("http://@93.184.216.34/h", "user name or password"),
    ],
)
async def test_a_url_no_encoding_makes_sendable_is_refused_with_the_reason(
    url: str, reason: str
) -> None:
    with pytest.raises(TargetRefused, match=re.escape(reason)):
        await check_target(url, allow_private=True)
