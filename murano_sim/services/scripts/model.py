"""Murano's Scripts service: trigger one of this solution's handlers, or run a snippet in a bare sandbox."""

from __future__ import annotations

from typing import Any

from ...lua.handlers import function_name
from ...lua.vm import NestedCall
from ..bounds import oversize
from ..local import NO_CONTENT, ServiceError, ServiceHost

MIN_TIMEOUT, MAX_TIMEOUT = 1.0, 10.0
# What a triggered handler receives: murano-sim's choice, the memory of one execution (the handler
# could not hold more); counted as services' arguments are (services/bounds.py).
MAX_PAYLOAD_BYTES = 1024 * 1024
MAX_SCRIPT_BYTES = 1024 * 1024  # a sandbox snippet's source, and its parameters


def check_payload(label: str, what: str, value: object, limit: int = MAX_PAYLOAD_BYTES) -> None:
    """A 413 error table when a payload counts more than limit bytes."""
    if oversize(value, limit):
        raise ServiceError(413, f"{label}: {what}: larger than {limit} bytes")


class Scripts:
    def __init__(self, host: ServiceHost) -> None:
        self.host = host

    def trigger(self, args: dict[str, Any]) -> Any:
        service, event = args.get("service") or "scripts", args["event"]
        data = args.get("data")
        check_payload("Scripts.trigger", "data", data)
        if args.get("mode") == "async":
            self.host.emit_event(service, event, data)  # runs after the current execution
            return dict(NO_CONTENT)
        missing = ServiceError(404, f"Scripts.trigger: the solution has no handler for {service} {event}").table()
        context = {"service": service, "event": event, "caller_id": "scripts"}
        return NestedCall(function_name(service, event), data, context, missing)

    def sandbox(self, args: dict[str, Any]) -> Any:
        timeout = float(args.get("timeout") or MIN_TIMEOUT)
        if not MIN_TIMEOUT <= timeout <= MAX_TIMEOUT:
            raise ServiceError(400, f"Scripts.sandbox: timeout must be from 1 to 10 seconds, got {timeout:g}")
        check_payload("Scripts.sandbox", "script", args["script"], MAX_SCRIPT_BYTES)
        check_payload("Scripts.sandbox", "parameters", args.get("parameters"), MAX_SCRIPT_BYTES)
        return NestedCall(
            "", args.get("parameters"), {}, None, returns="sandbox",
            result={"script": args["script"], "timeout": timeout},
        )
