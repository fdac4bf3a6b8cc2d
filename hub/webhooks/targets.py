"""The SSRF guard: webhook URLs may not point into the hub's own network.

A URL whose host is, or resolves to, an address that is not globally
routable (loopback, private, shared, link-local, multicast, reserved,
unspecified, a public-looking IPv6 form that embeds such an IPv4 address,
or an IPv6 address a translator turns into IPv4: NAT64, IPv4-compatible)
is refused unless ``[webhooks] allow_private_targets`` is on (for local
development). Every address a name resolves to is checked, so one public
record cannot smuggle a private one in.

At delivery time the name is resolved and checked again, and the request goes
to that checked address (``Target.pinned_url``, with the original ``Host`` and
TLS server name), so a DNS answer that changes between the check and the
connection (DNS rebinding) cannot point a delivery inside.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import urllib.parse
from dataclasses import dataclass

from hub.errors import TargetRefused, UnsendableUrl
from hub.webhooks import urls


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    host_header: str  # what the Host header must say
    server_name: str  # the TLS server name (SNI) and the name the certificate must match
    address: str | None  # the checked address to connect to; None: resolve as usual

    @property
    def pinned_url(self) -> str:
        if self.address is None:
            return self.url
        parts = urllib.parse.urlsplit(self.url)
        host = f"[{self.address}]" if ":" in self.address else self.address
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return urllib.parse.urlunsplit(parts._replace(netloc=f"{host}:{port}"))


# IPv6 ranges that stand for IPv4 hosts through a translator or a deprecated
# form: NAT64 (well-known and local-use prefixes, RFC 6052 / 8215), where a
# gateway in the hub's own network makes the connection; IPv4-compatible
# (::/96, deprecated) and IPv4-translated (SIIT) addresses. No webhook needs
# them, and whether the translator reaches inside depends on the network.
_TRANSLATED = tuple(
    ipaddress.ip_network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48", "::/96", "::ffff:0:0:0/96")
)


def _is_internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in network for network in _TRANSLATED):
            return True
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and _is_internal(str(embedded)):
            return True
    return not ip.is_global or ip.is_multicast


async def check_target(url: str, allow_private: bool) -> Target:
    """The target to connect to, its URL normalised (``urls.normalise``); raises
    ``TargetRefused`` with a reason fit for the client."""
    try:
        url = urls.normalise(url)
    except UnsendableUrl as exc:
        raise TargetRefused(str(exc)) from None
    parts = urllib.parse.urlsplit(url)
    port = parts.port
    assert parts.hostname is not None  # normalise refuses a URL without one
    netloc = parts.netloc
    if allow_private:
        return Target(url, netloc, parts.hostname, None)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, port or (443 if parts.scheme == "https" else 80),
            type=socket.SOCK_STREAM,
        )  # fmt: skip
    except (OSError, UnicodeError):
        raise TargetRefused(f"the host {parts.hostname} does not resolve") from None
    for *_, sockaddr in infos:
        if _is_internal(str(sockaddr[0])):
            raise TargetRefused(
                f"{parts.hostname} points to an internal address ({sockaddr[0]}); "
                "for local development, set [webhooks] allow_private_targets = true in a file"
                " passed with --config (make run CONFIG=local.toml) and restart the hub"
            )
    return Target(url, netloc, parts.hostname, str(infos[0][4][0]).split("%")[0])
