"""Device2's control: act as a device toward the solution (Device2 and, through its own control,
Device v1), for the console, the `devices` fixture and yaml cases (`devices:` provisions devices
and sends their data_in).

It calls the same model methods the device HTTP API calls, so a test sees what a real device
would cause: state changes and the data_in/provisioned/... events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ...errors import UsageError
from .. import ServiceError
from ..control import CaseDataError, FixtureError, ServiceControl, mapping

DEVICE_IP = "127.0.0.1"
DEVICE_KEYS = ("data_in", "protocol")
PROTOCOLS = ("http", "mqtt")  # a case's device writes as the HTTP device API's would (default), or over MQTT


class Devices:
    """Devices of the solution: provision, send data_in, read state and set values."""

    def __init__(self, gateway: Any, services: Any) -> None:
        self._gateway = gateway
        self._services = services
        self._mqtt_server: Any = None  # the MQTT device API, started by the first mqtt() call
        self._mqtt_devices: list[Any] = []

    def mqtt(self, identity: str) -> Any:
        """`identity` connected over a real MQTT connection (paho-mqtt, TLS verified against the local
        CA) to this runtime's MQTT device API, provisioned first if it is not yet: an MqttDevice with
        write(**values) (returns once the data_in handler ran) and receive() -> (alias, value) for
        what the solution sets. Closed at the test's end."""
        from .mqtt_client import MqttDevice  # paho loads only for a test that uses MQTT

        server = self.mqtt_port()
        known = identity in self.identities()
        status = self.gateway.getIdentity({"identity": identity}).get("status") if known else None
        token = self.provision(identity) if status in (None, "whitelisted") else None
        if token is None:  # provisioned before this call: a fresh token, as re-provisioning gives (a provisioned event)
            self.gateway.updateIdentity({"identity": identity, "reprovision": True})
            token = self.provision(identity)
        device = MqttDevice(server.url, server.ca_path, token)
        self._mqtt_devices.append(device)
        return device

    def mqtt_port(self) -> Any:
        """This runtime's MQTT device API, started on first use (as serve's, from serve.* settings):
        `.url` (mqtts://127.0.0.1:PORT) and `.ca_path` for a device of the test's own. Closed at the test's end."""
        from .mqtt_api import serve_mqtt  # asyncio and amqtt load only for a test that uses MQTT

        if self._mqtt_server is None:
            self._mqtt_server = serve_mqtt(self._services)
        return self._mqtt_server

    def close(self) -> None:
        """The MQTT devices and port the test opened (the fixture calls it at teardown)."""
        for device in self._mqtt_devices:
            device.close()
        self._mqtt_devices.clear()
        if self._mqtt_server is not None:
            self._mqtt_server.shutdown()
            self._mqtt_server = None

    @property
    def gateway(self) -> Any:
        """The Device2 model (every operation as a method taking the argument dict)."""
        return self._gateway

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
        try:
            control = self._services.control("device")
        except KeyError:
            raise UsageError("Device v1 is not emulated in this runtime") from None
        control.actions["datapoint"](pid=pid, device_sn=device_sn, values=values)

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """Device2 events emitted while no handler routing is attached (the services' events)."""
        return [e["payload"] for e in self._services.events
                if e["service"] == "device2" and (event_type is None or e["event"] == event_type)]


class Device2Control(ServiceControl):
    seed_keys = ("devices",)
    seed_order = 1  # devices last: their events reach handlers that may read the other seeds

    def fixture(self) -> Devices:
        return Devices(self.model, self.services)

    def seed(self, data: Any) -> None:
        """{identity: [data_in writes]}: every device provisioned, then its writes sent in order."""
        devices = self.fixture()
        seeds = self.check_case("devices", "devices", data, expect=False)
        try:
            over_mqtt = {str(identity): devices.mqtt(str(identity))
                         for identity, spec in mapping(data, "devices").items()
                         if isinstance(spec, Mapping) and spec.get("protocol") == "mqtt"}
            for identity in seeds:
                if identity not in over_mqtt:
                    devices.provision(identity)
            for identity, writes in seeds.items():
                for values in writes:
                    if identity in over_mqtt:
                        over_mqtt[identity].write(**values)
                    else:
                        devices.data_in(identity, **values)
        except ServiceError as exc:
            raise FixtureError(f"devices: {exc.message} (status {exc.status})") from None
        finally:
            devices.close()

    def inspect(self, view: str | None = None, **query: Any) -> dict[str, Any]:
        """{"devices": [...], "resources": {...}}; each device's `connected` lists the protocols it is
        connected over now ("mqtt"; "http" while a long poll waits)."""
        with self.host.state.lock:
            devices = self.model.listIdentities({"limit": 1000}).get("devices", [])
            resources = self.model.resources()
        connected = self.model.connected()
        for device in devices:
            device["connected"] = connected.get(device["identity"], [])
        return {"devices": devices, "resources": resources}

    @property
    def actions(self) -> Mapping[str, Callable[..., Any]]:
        return {"data_in": self.data_in, "provision": self.provision}

    def data_in(self, identity: Any = None, values: Any = None) -> dict[str, Any]:
        """A device's write (the console's form); answers the devices afterwards."""
        if not isinstance(values, dict) or not values:
            raise UsageError('values: expected an object of resource values, e.g. {"temperature": 21}')
        self.model.data_in(str(identity), values, ip=DEVICE_IP)
        return self.inspect()

    def provision(self, identity: Any = None) -> dict[str, Any]:
        return {"identity": identity, "token": self.fixture().provision(str(identity))}

    @staticmethod
    def check_case(key: str, where: str, value: Any, *, expect: bool) -> dict[str, list[dict[str, Any]]]:
        """identity -> the data_in writes it sends, in order (none: only provisioned)."""
        devices: dict[str, list[dict[str, Any]]] = {}
        for identity, spec in mapping(value, where).items():
            spec = {} if spec is None else mapping(spec, f"{where}.{identity}")
            unknown = set(spec) - set(DEVICE_KEYS)
            if unknown:
                raise CaseDataError(f"{where}.{identity}: unknown key {sorted(unknown)[0]!r} "
                                    f"(known: {', '.join(DEVICE_KEYS)})")
            if spec.get("protocol", "http") not in PROTOCOLS:
                raise CaseDataError(f"{where}.{identity}.protocol: {spec['protocol']!r} is not one of "
                                    f"{', '.join(PROTOCOLS)}")
            writes = spec.get("data_in") or []
            writes = [writes] if isinstance(writes, Mapping) else writes
            if not isinstance(writes, list) or not all(isinstance(w, Mapping) for w in writes):
                raise CaseDataError(f"{where}.{identity}.data_in must be {{alias: value}} or a list of them")
            devices[str(identity)] = [dict(w) for w in writes]
        return devices


factory = Device2Control
