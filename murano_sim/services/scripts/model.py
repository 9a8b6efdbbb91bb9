"""Murano's Scripts service: trigger one of this solution's handlers, or run a snippet in a bare sandbox."""

from __future__ import annotations

from typing import Any

from ...lua.handlers import function_name
from ...lua.vm import NestedCall
from ..bounds import check_payload
from ..host import NO_CONTENT, ServiceError, ServiceHost

MIN_TIMEOUT, MAX_TIMEOUT = 1.0, 10.0
MAX_SCRIPT_BYTES = 1024 * 1024  # a sandbox snippet's source, and its parameters


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
