"""An inbound SMS delivered to a solution's endpoint as Twilio delivers it (for `murano-sim twilio-inbound`).

A throwaway emulator builds Twilio's inbound-SMS webhook form and signs it with the configured
account's Auth Token, so the endpoint sees exactly what Twilio would send. (Inside a test, call
`runtime.emulator.receive_message(..., url=...)` instead: the message then also lands in the
emulator's state that scripts list.)
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from ...config import Config
from ...errors import UsageError
from ...net.hosts import is_allowed_host
from ..settings import load_config
from . import Emulator
from .webhooks import Delivery

_PHONE = re.compile(r"^(whatsapp:)?\+[1-9]\d{1,14}$")  # E.164, as the help says, or a WhatsApp address


def deliver_inbound_sms(
    url: str,
    *,
    to: str,
    from_: str,
    body: str,
    config: Config | str | os.PathLike[str] | dict[str, Any] | None = None,
    method: str = "POST",
) -> Delivery:
    """Send one signed inbound-SMS webhook to url; returns the attempt (never raises for HTTP failures)."""
    cfg = load_config(config)
    method = method.upper()
    if method not in ("GET", "POST"):
        raise UsageError(f"--method must be GET or POST, got {method}")
    if not re.match(r"^https?://", url):
        raise UsageError(f"{url}: the webhook URL must start with http:// or https://")
    if not is_allowed_host(url, cfg.section("emulator").get("allow_hosts") or ()):
        raise UsageError(f"{url}: host is not loopback; add it to emulator.allow_hosts to deliver there")
    for flag, number in (("--to", to), ("--from", from_)):
        if not _PHONE.match(number):
            raise UsageError(f"{flag} {number!r}: expected an E.164 number such as +15005550006")
    with Emulator(cfg) as emulator:
        emulator.receive_message(to=to, from_=from_, body=body, url=url, method=method)
        return emulator.deliveries[-1]


def main_inbound(
    url: str,
    to: str,
    from_: str,
    body: str,
    config_path: str | os.PathLike[str] | None = None,
    method: str = "POST",
    *,
    as_json: bool = False,
) -> int:
    """`murano-sim twilio-inbound`: one line saying what happened (as_json: one JSON object); exit 0 on a
    2xx answer, else 1."""
    delivery = deliver_inbound_sms(url, to=to, from_=from_, body=body, config=config_path, method=method)
    sid = delivery.params.get("MessageSid", "")
    if as_json:
        print(json.dumps({"url": url, "sid": sid, "delivered": delivery.ok, "status": delivery.status,
                          "body": delivery.body, "error": delivery.error}))
        return 0 if delivery.ok else 1
    if delivery.ok:
        print(f"delivered inbound SMS {sid} to {url}: HTTP {delivery.status}")
        if delivery.body:
            print(delivery.body)
        return 0
    print(f"inbound SMS {sid} to {url} not delivered: {delivery.error}")
    return 1
