"""The header that marks a request sent on a solution's behalf (no Werkzeug: the services' transport
imports it on every run)."""

from __future__ import annotations

from collections.abc import MutableMapping

# Set by the host on every request it sends for a solution (Http, webhooks, TwiML fetches, ...),
# after removing any copy a script gave: a local surface that sees it refuses the request, so a
# script cannot drive the console or the emulator's control plane as if it were the developer.
MARKER_HEADER = "X-Murano-Sim-Sent-For"
MARKER_VALUE = "solution"


def mark(headers: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Remove any header named MARKER_HEADER (in any case), then set it; returns `headers`."""
    for name in [k for k in headers if str(k).lower() == MARKER_HEADER.lower()]:
        del headers[name]
    headers[MARKER_HEADER] = MARKER_VALUE
    return headers
