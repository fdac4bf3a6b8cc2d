"""The SSRF guard: webhook URLs may not point into the hub's own network.

A URL whose host is, or resolves to, a loopback, private, link-local,
multicast, reserved or unspecified address is refused unless
``[webhooks] allow_private_targets`` is on (for local development). Every
address a name resolves to is checked, so one public record cannot smuggle a
private one in.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import urllib.parse


class TargetRefused(ValueError):
    pass


def _is_internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    return bool(
        ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast
        or ip.is_reserved or ip.is_unspecified
    )  # fmt: skip


async def check_target(url: str, allow_private: bool) -> None:
    """Raise ``TargetRefused`` with a reason fit for the client, or return."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetRefused("not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise TargetRefused("must not carry a user name or password")
    if allow_private:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, port or (443 if parts.scheme == "https" else 80),
            type=socket.SOCK_STREAM,
        )  # fmt: skip
    except OSError:
        raise TargetRefused(f"the host {parts.hostname} does not resolve") from None
    for *_, sockaddr in infos:
        if _is_internal(str(sockaddr[0])):
            raise TargetRefused(
                f"{parts.hostname} points to an internal address ({sockaddr[0]}); "
                "set [webhooks] allow_private_targets = true for local development"
            )
