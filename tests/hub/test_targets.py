"""The SSRF guard: which webhook targets are refused, and where a delivery connects."""

from __future__ import annotations

import pytest

from hub.webhooks.targets import TargetRefused, check_target


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
