"""The one host rule for every outbound request murano-sim makes (webhooks, Http, Email).

A URL is read with urllib3's parse_url, the parser requests itself uses, so the host checked is
the host connected to. Anything two parsers could read differently is refused outright.
Loopback is always allowed; any other host only when a configuration lists it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from urllib3.exceptions import LocationParseError
from urllib3.util import Url, parse_url


def parse_http_url(url: str) -> Url | None:
    """An http(s) URL as urllib3 (and so requests) reads it; None if it has a backslash,
    whitespace or a control character, a bad port, or no host."""
    if "\\" in url or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return None
    try:
        parsed = parse_url(url)
    except LocationParseError:
        return None
    return parsed if parsed.scheme in ("http", "https") and parsed.host else None


def unambiguous_host(url: str) -> str | None:
    """The host an http(s) URL reaches, read as the HTTP client reads it; None if it is ambiguous.

    requests prepares URLs with urllib3's parse_url, so the host is taken from the same parser.
    A URL that parsers could read differently (a backslash, userinfo, whitespace or a control
    character, a bad port) is refused outright, and so is one where urllib's reading disagrees.
    """
    parsed = parse_http_url(url)
    if parsed is None:
        return None
    try:
        split = urlsplit(url)
        split_host, split_port = split.hostname, split.port
    except ValueError:
        return None
    if parsed.auth is not None or "@" in split.netloc:
        return None
    host = (parsed.host or "").lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host or host != (split_host or "").lower() or parsed.port != split_port:
        return None
    return host


def is_allowed_host(url: str, allow_hosts: Iterable[str] = ()) -> bool:
    """Loopback hosts are always allowed; any other host only when listed in allow_hosts."""
    host = unambiguous_host(url)
    if host is None:
        return False
    return is_loopback_host(host) or host in {h.lower() for h in allow_hosts}


def is_loopback_host(host: str) -> bool:
    """localhost or a loopback address (127.0.0.0/8, ::1, bracketed or not)."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    # Only the literal name localhost and loopback addresses: a name like x.localhost may be
    # handed to a DNS server, which could answer anything.
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    # An IPv4-mapped IPv6 form (::ffff:127.0.0.1) is refused as an ambiguous spelling on every
    # Python: 3.13 started to call it loopback, 3.10-3.12 do not.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return False
    return address.is_loopback
