"""`murano-sim device --mqtt URL ...`: act as a device over serve's MQTT device API (paho-mqtt).

provision, write and read as `murano-sim device --url` does over HTTP, with the token kept in the
same file (keyed by the MQTT URL). TLS is verified against murano-sim's local CA (--ca to name
another file); a mqtt:// URL (serve.mqtt_tls: false) is plain TCP.
"""

from __future__ import annotations

import json
import queue
import ssl
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt

from ...config.trust import data_dir
from ...errors import UsageError
from .client import DEFAULT_TOKEN_FILE, EXIT_OK, EXIT_REFUSED, TIMEOUT, _pairs, _store, _token, say

WAIT_SECONDS = 30.0  # read: how long to wait for the named values


class MqttDevice:
    """A paho-mqtt client connected as one device (or anonymously, to provision): what the CLI and
    the `devices.mqtt(identity)` fixture use. Refusals raise MqttRefused (one line)."""

    def __init__(self, url: str, ca: Path | None, token: str | None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname or not parts.port:
            raise UsageError(f"--mqtt {url!r}: expected mqtts://HOST:PORT (serve prints it as `mqtt: URL`)")
        self.messages: queue.Queue[tuple[str, str] | None] = queue.Queue()  # None: the connection ended
        self.connack: queue.Queue[str] = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="", protocol=mqtt.MQTTv311,
                                  reconnect_on_failure=False)  # one command, one connection: a refusal ends it
        if parts.scheme == "mqtts":
            path = ca or data_dir() / "ca" / "ca.pem"
            if not path.is_file():
                raise UsageError(f"{path}: no CA file (serve logs `mqtt: CA <path>`; pass it with --ca)")
            self.client.tls_set(ca_certs=str(path), tls_version=ssl.PROTOCOL_TLS_CLIENT)
        if token:
            self.client.username_pw_set("", token)  # as Exosite's client: empty username, the token as password
        self.client.on_connect = lambda c, u, f, rc, p: self.connack.put(rc.getName())
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, m.payload.decode("utf-8", "replace")))
        self.client.on_disconnect = lambda c, u, f, rc, p: self.messages.put(None)
        try:
            self.client.connect(parts.hostname, parts.port, keepalive=60)
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(f"{url}: {type(exc).__name__}: {exc}") from None
        self.client.loop_start()
        try:
            answer = self.connack.get(timeout=TIMEOUT)
        except queue.Empty:
            self.close()
            raise UsageError(f"{url}: no CONNACK within {TIMEOUT:g} s") from None
        if answer != "Success":
            self.close()
            raise MqttRefused(f"the MQTT port refused the connection: {answer}")

    def publish(self, topic: str, payload: str) -> None:
        """At QoS 1: returns once the PUBACK arrived (the handler ran)."""
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout=TIMEOUT)
        if not info.is_published():
            raise MqttRefused(f"no PUBACK for {topic} (the connection closed: serve's log says why)")

    def write(self, **values: Any) -> None:
        """One data_in with these values ($resource.batch, QoS 1): returns once the handler ran."""
        self.publish("$resource.batch", json.dumps(values))

    def receive(self, timeout: float = TIMEOUT) -> tuple[str, str]:
        """The next set value delivered to the device: (alias, value as text)."""
        try:
            message = self.messages.get(timeout=timeout)
        except queue.Empty:
            raise MqttRefused(f"no set value arrived within {timeout:g} s") from None
        if message is None:
            raise MqttRefused("the MQTT port closed the connection")
        return message[0].split("/")[1], message[1]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class MqttRefused(AssertionError):
    """The server refused or did not answer (one line): the CLI exits 1, a test fails with it."""


def main_mqtt_device(url: str, command: str, identity: str, items: list[str], token_file: str | None,
                     ca: str | None, wait: float | None, as_json: bool = False) -> int:
    path = Path(token_file or DEFAULT_TOKEN_FILE)
    ca_path = Path(ca) if ca else None
    try:
        if command == "provision":
            return _provision(url, ca_path, path, identity, as_json)
        token = _token(path, url, identity)
        if command == "write":
            return _write(MqttDevice(url, ca_path, token), identity, _pairs(items), as_json)
        return _read(MqttDevice(url, ca_path, token), identity, items, WAIT_SECONDS if wait is None else wait,
                     as_json)
    except MqttRefused as exc:
        print(f"murano-sim: {exc}", file=sys.stderr)
        return EXIT_REFUSED


def _provision(url: str, ca: Path | None, path: Path, identity: str, as_json: bool) -> int:
    device = MqttDevice(url, ca, None)
    try:
        device.publish(f"$provision/{identity}", "")
        # the token is sent before the PUBACK on the same stream, and paho handles packets in order
        answer = device.messages.get_nowait()
    except queue.Empty:
        answer = None
    finally:
        device.close()
    if answer is None or answer[0] != f"$provision/{identity}":
        raise MqttRefused(f"no token for {identity}: provisioning was refused "
                          "(already provisioned? serve's log says why)")
    _store(path, url, identity, answer[1])
    say(as_json, {"identity": identity, "provisioned": True, "token_file": str(path)},
        f"provisioned {identity}; token stored in {path}")
    return EXIT_OK


def _write(device: MqttDevice, identity: str, pairs: list[tuple[str, str]], as_json: bool) -> int:
    try:
        if len(pairs) == 1:
            device.publish(f"$resource/{pairs[0][0]}", pairs[0][1])
        else:  # one data_in carrying every value, as an HTTP write of a=1&b=2
            device.publish("$resource.batch", json.dumps(dict(pairs)))
    finally:
        device.close()
    say(as_json, {"identity": identity, "wrote": dict(pairs)}, f"wrote {', '.join(a for a, _ in pairs)} for {identity}")
    return EXIT_OK


def _read(device: MqttDevice, identity: str, aliases: list[str], wait: float, as_json: bool) -> int:
    """Print the set values delivered to the device (`alias=value`) until each named alias came once,
    or `wait` seconds passed (no aliases: every delivery until then). With as_json, one object at the end
    (an alias delivered twice keeps its last value)."""
    missing, deadline = set(aliases), time.monotonic() + wait
    values: dict[str, str] = {}
    try:
        while not aliases or missing:
            try:
                message = device.messages.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                break
            if message is None:
                raise MqttRefused("the MQTT port closed the connection (serve's log says why)")
            alias = message[0].split("/")[1] if message[0].count("/") == 2 else None
            if alias is not None and (not aliases or alias in aliases):
                values[alias] = message[1]
                if not as_json:
                    print(f"{alias}={message[1]}", flush=True)
                missing.discard(alias)
    finally:
        device.close()
    if as_json:
        say(True, {"identity": identity, "values": values, "missing": sorted(missing)}, "")
    if missing:
        print(f"murano-sim: no value for {', '.join(sorted(missing))} within {wait:g} s", file=sys.stderr)
        return EXIT_REFUSED
    return EXIT_OK
