"""Device v1's control: a device writing dataports (the `devices` fixture's datapoint)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..control import ServiceControl

DEVICE_IP = "127.0.0.1"


class DeviceControl(ServiceControl):
    @property
    def actions(self) -> Mapping[str, Callable[..., Any]]:
        return {"datapoint": self.datapoint}

    def datapoint(self, pid: str = "", device_sn: str = "", values: Mapping[str, Any] | None = None) -> None:
        """A device writes dataports (one `datapoint` event each)."""
        self.model.record(pid, device_sn, dict(values or {}), source_ip=DEVICE_IP)


factory = DeviceControl
