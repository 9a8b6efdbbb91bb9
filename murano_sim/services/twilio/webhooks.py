"""Outgoing webhooks: Twilio's X-Twilio-Signature, and delivery that only reaches allowed hosts.

Delivery never raises: a refused host, a connection error or a non-2xx answer is logged on the
"murano_sim.emulator" logger and reported in the returned Delivery.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests

from ...net.hosts import is_allowed_host
from ...net.marker import mark

log = logging.getLogger("murano_sim.emulator")

DEFAULT_TIMEOUT = 5.0
_USER_AGENT = "TwilioProxy/1.1 (murano-sim emulator)"


def sign(url: str, params: Mapping[str, str | list[str]], auth_token: str) -> str:
    """X-Twilio-Signature: base64 HMAC-SHA1 of the URL followed by each name+value, names sorted."""
    payload = url
    for name in sorted(params):
        values = params[name]
        for value in sorted(set(values)) if isinstance(values, list) else [values]:
            payload += name + value
    digest = hmac.new(auth_token.encode("utf-8"), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


@dataclass
class Delivery:
    """One webhook attempt, as recorded by the emulator."""

    kind: str
    url: str
    method: str
    params: dict[str, str]
    ok: bool = False
    status: int | None = None
    error: str | None = None
    body: str = field(default="", repr=False)


def attempt(
    url: str,
    params: Mapping[str, str],
    auth_token: str,
    method: str = "POST",
    allow_hosts: Iterable[str] = (),
    *,
    kind: str = "webhook",
    timeout: float = DEFAULT_TIMEOUT,
) -> Delivery:
    """Make one signed webhook request (POST form, or GET with the params in the query)."""
    method = method.upper()
    delivery = Delivery(kind, url, method, dict(params))
    if not is_allowed_host(url, allow_hosts):
        delivery.error = "refused: host is ambiguous, or not loopback and not in emulator.allow_hosts"
        log.warning("webhook %s to %s refused: host not allowed (add it to emulator.allow_hosts)", kind, url)
        return delivery
    if method == "GET":
        parts = urlsplit(url)
        query = "&".join(q for q in (parts.query, urlencode(params)) if q)
        target, data = urlunsplit(parts._replace(query=query)), None
        signature = sign(target, {}, auth_token)
    else:
        target, data = url, dict(params)
        signature = sign(url, data, auth_token)
    headers = {"X-Twilio-Signature": signature, "User-Agent": _USER_AGENT}
    mark(headers)  # sent on a solution's behalf: no local surface accepts it
    try:
        with requests.Session() as session:
            session.trust_env = False  # never route a webhook through a proxy from the environment
            response = session.request(method, target, data=data, headers=headers, timeout=timeout,
                                       allow_redirects=False)
    except requests.RequestException as exc:
        delivery.error = f"{type(exc).__name__}: could not reach {url}"
        log.warning("webhook %s to %s failed: %s", kind, url, delivery.error)
        return delivery
    delivery.status, delivery.body = response.status_code, response.text
    delivery.ok = 200 <= response.status_code < 300
    if not delivery.ok:
        delivery.error = f"HTTP {response.status_code}"
        log.warning("webhook %s to %s answered HTTP %s", kind, url, response.status_code)
    return delivery


def deliver(
    url: str,
    params: Mapping[str, str],
    auth_token: str,
    method: str = "POST",
    allow_hosts: Iterable[str] = (),
) -> bool:
    """Send a signed webhook; True on a 2xx answer. Never raises."""
    return attempt(url, params, auth_token, method, allow_hosts).ok
