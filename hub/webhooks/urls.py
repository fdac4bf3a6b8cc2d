"""Webhook URLs in the form HTTP sends them, or a reason they cannot be sent.

A client may write ``https://shop.example/hooks/é?q=a b``; an HTTP request
line may hold neither the space nor the ``é``. ``normalise`` percent-encodes
what RFC 3986 does not allow as it is (as UTF-8), keeps what is already
encoded, turns a non-ASCII host into its IDNA form (``xn--…``), and refuses
what no encoding makes right (control characters, a host that is no DNS name
or IP address, a bad port) with a sentence fit for the client. Done when a URL
is stored and again before each attempt, so a URL kept by an older version is
sent encoded too.
"""

from __future__ import annotations

import ipaddress
import re
import string
import urllib.parse
from typing import Final

from hub.errors import UnsendableUrl

_UNRESERVED: Final = string.ascii_letters + string.digits + "-._~"
_SUB_DELIMS: Final = "!$&'()*+,;="
_PATH_SAFE: Final = frozenset(_UNRESERVED + _SUB_DELIMS + ":@/")
_QUERY_SAFE: Final = _PATH_SAFE | {"?"}
_ESCAPE: Final = re.compile(r"%[0-9A-Fa-f]{2}")
# A DNS label as resolvers take it (an underscore is found in real names).
_LABEL: Final = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _encode(part: str, safe: frozenset[str]) -> str:
    out: list[str] = []
    i = 0
    while i < len(part):
        if _ESCAPE.match(part, i):  # already encoded: kept as the client wrote it
            out.append(part[i : i + 3])
            i += 3
            continue
        ch = part[i]
        out.append(ch if ch in safe else "".join(f"%{b:02X}" for b in ch.encode()))
        i += 1
    return "".join(out)


def _host(hostname: str, bracketed: bool) -> str:
    """The host as a request names it; raises ``UnsendableUrl``."""
    if bracketed:
        try:
            address = ipaddress.IPv6Address(hostname)
            if address.scope_id is not None:  # which interface is the hub's business
                raise ValueError(hostname)
            return f"[{address.compressed}]"
        except ValueError:
            raise UnsendableUrl(
                f"the host [{hostname}] is not an IPv6 address (a zone such as %eth0 is not"
                " allowed either)"
            ) from None
    try:
        ascii_host = hostname if hostname.isascii() else hostname.encode("idna").decode()
    except UnicodeError:
        raise UnsendableUrl(f"the host {hostname} is not a valid domain name") from None
    labels = ascii_host.removesuffix(".").split(".")
    if len(ascii_host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise UnsendableUrl(
            f"the host {hostname!r} is not a domain name or IP address: use letters, digits,"
            " hyphens and dots (e.g. hooks.example.com)"
        )
    return ascii_host


def normalise(url: str) -> str:
    """``url`` percent-encoded where HTTP needs it; raises ``UnsendableUrl`` with the reason."""
    url = url.strip(" ")
    control = _CONTROL.search(url)
    if control:
        raise UnsendableUrl(
            f"contains a control character (U+{ord(control[0]):04X}) at position"
            f" {control.start() + 1}; remove it, or percent-encode it if it is meant"
        )
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        if "port" in str(exc).lower():
            raise UnsendableUrl("the port must be a number from 1 to 65535") from None
        raise UnsendableUrl("not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsendableUrl("must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise UnsendableUrl("must not carry a user name or password")
    if port == 0:
        raise UnsendableUrl("the port must be a number from 1 to 65535")
    host = _host(parts.hostname, parts.netloc.rsplit("@", 1)[-1].startswith("["))
    try:
        path = _encode(parts.path, _PATH_SAFE)
        query = _encode(parts.query, _QUERY_SAFE)
        fragment = _encode(parts.fragment, _QUERY_SAFE)
    except UnicodeEncodeError:  # a lone surrogate, which JSON can carry
        raise UnsendableUrl("contains a character that is not valid Unicode") from None
    netloc = host if port is None else f"{host}:{port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, path, query, fragment))
