"""The `devices` fixture: act as a device toward the solution under test (Device2 and Device v1).

It calls the same model methods the device HTTP API calls, so a test sees what a real device
would cause: state changes and the data_in/provisioned/... events.
"""

from __future__ import annotations

from typing import Any

import pytest

from ..runtime import Runtime
from .runner import ScriptRunner

DEVICE_IP = "127.0.0.1"


class Devices:
    """Devices of the solution behind `runtime`: provision, send data_in, read state and set values."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @property
    def gateway(self) -> Any:
        """The Device2 model (every operation as a method taking the argument dict)."""
        return self.runtime.platform.by_alias["device2"].model

    def provision(self, identity: str) -> str:
        """Provision `identity` as POST /provision/activate would; returns its token."""
        return self.gateway.activate(identity, ip=DEVICE_IP)

    def data_in(self, identity: str, **values: Any) -> dict[str, Any]:
        """Report values as a device write (POST /onep:v1/stack/alias); the identity must exist."""
        return self.gateway.data_in(identity, values, ip=DEVICE_IP)

    def connect(self, identity: str) -> None:
        self.gateway.connect(identity, ip=DEVICE_IP)

    def disconnect(self, identity: str) -> None:
        self.gateway.disconnect(identity, ip=DEVICE_IP)

    def state(self, identity: str) -> dict[str, Any]:
        """Device2.getIdentityState: {alias: {reported, set, timestamp}}."""
        return self.gateway.getIdentityState({"identity": identity})

    def read(self, identity: str, *aliases: str) -> dict[str, Any]:
        """The set values a device would read back (GET /onep:v1/stack/alias?a&b)."""
        return self.gateway.read_set(identity, aliases)

    def identities(self) -> list[str]:
        return [d["identity"] for d in self.gateway.listIdentities({})["devices"]]

    def datapoint(self, pid: str, device_sn: str, **values: Any) -> None:
        """Device v1: a device writes dataports (one `datapoint` event each)."""
        self.runtime.platform.by_alias["device"].model.record(pid, device_sn, values, source_ip=DEVICE_IP)

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """Device2 events emitted while no handler routing is attached (runtime.platform.events)."""
        return [e["payload"] for e in self.runtime.platform.events
                if e["service"] == "device2" and (event_type is None or e["event"] == event_type)]


@pytest.fixture
def devices(murano: ScriptRunner) -> Devices:
    """Act as devices toward the solution under `murano`: .provision(id), .data_in(id, alias=value),
    .state(id), .read(id, alias...), .connect(id), .disconnect(id), .datapoint(pid, sn, alias=value)."""
    return Devices(murano.runtime)
