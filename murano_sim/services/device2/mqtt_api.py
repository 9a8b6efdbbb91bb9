"""Murano's MQTT device API (the `murano:v1/mqtt` protocol) on loopback: MQTT 3.1.1 over TLS.

Wire only, as device_api.py is for HTTP: amqtt's packet codec reads and writes the packets; every
rule is the Device2 model's (activate, authenticate, data_in, connect/disconnect). Topics follow
Exosite's device client; the rules murano-sim had to infer are in docs/services/device2-mqtt.md.

  anonymous CONNECT, PUBLISH $provision/<identity>   -> a message on $provision/<identity>: the token
  CONNECT password=<token> (username empty or the identity); a wrong token -> CONNACK 4 (bad credentials)
  PUBLISH $resource/<alias> <value>                  -> Device2 data_in, as an HTTP write
  PUBLISH $resource.batch [{"timestamp": µs, "values": {...}}, ...] -> one data_in (a record, as HTTP's)
  Device2.setIdentityState                           -> PUBLISH $resource/<alias>/<µs> <value> to the device
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import socket
import ssl
import threading
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from amqtt.adapters import StreamReaderAdapter
from amqtt.errors import AMQTTError
from amqtt.mqtt import packet_dict
from amqtt.mqtt.connack import ConnackPacket
from amqtt.mqtt.connect import ConnectPacket
from amqtt.mqtt.packet import MQTTFixedHeader, MQTTPacket
from amqtt.mqtt.pingreq import PingReqPacket
from amqtt.mqtt.pingresp import PingRespPacket
from amqtt.mqtt.puback import PubackPacket
from amqtt.mqtt.publish import PublishPacket
from amqtt.mqtt.suback import SubackPacket
from amqtt.mqtt.subscribe import SubscribePacket
from amqtt.mqtt.unsuback import UnsubackPacket
from amqtt.mqtt.unsubscribe import UnsubscribePacket

from ...config.trust import data_dir
from ...errors import UsageError
from ...net.limits import DEFAULT_MAX_BODY_BYTES
from ...net.listen import MAX_CONNECTIONS, READ_TIMEOUT_SECONDS, check_port
from ...net.local_ca import LocalCA
from ...net.local_surface import is_loopback
from .. import ServiceError
from .model import Device2, number_text

log = logging.getLogger("murano_sim.mqtt")
T = TypeVar("T")
_Server = TypeVar("_Server", bound="MqttDeviceServer")  # typing.Self is 3.11+; we support 3.10

IDLE_SECONDS = 300.0  # a connection with keep-alive 0 is dropped after this long without a packet
SECONDS_BOUND = 10**11  # a batch timestamp below it is seconds (year 5138), above it µs (1970-01-02)
MAX_INFLIGHT = 16  # QoS 1 deliveries sent to one connection and not yet acknowledged; the rest wait
MAX_QUEUED = 100  # deliveries waiting behind them (or kept for a reconnect); beyond it the oldest are dropped
RESEND_SECONDS = 30.0  # an unacknowledged delivery is sent again (DUP) after this long
# CONNACK return codes (MQTT 3.1.1, 3.2.2.3)
ACCEPTED, BAD_PROTOCOL, BAD_CREDENTIALS, NOT_AUTHORIZED = 0, 1, 4, 5
_FROM_CLIENTS = (ConnectPacket, PublishPacket, PubackPacket, SubscribePacket, UnsubscribePacket, PingReqPacket)


class Refused(Exception):
    """A client broke the protocol or the device API's rules: it is disconnected with one log line."""


class MqttDeviceServer:
    """Serves the MQTT device API from an asyncio loop in a daemon thread; like BackgroundServer:
    `url`, `shutdown()`, a context manager. `note`: the CA's path, for serve to print."""

    def __init__(self, model: Device2, host: str = "127.0.0.1", port: int = 0, *, tls: ssl.SSLContext | None = None,
                 ca_path: Path | None = None, max_payload_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 max_connections: int = MAX_CONNECTIONS, remote: bool = False,
                 resend_seconds: float = RESEND_SECONDS) -> None:
        self.model = model
        self.resend_seconds = resend_seconds
        # identity -> deliveries not acknowledged when its connection ended: sent again on its next CONNECT
        self.kept: dict[str, list[tuple[str, bytes, bool]]] = {}  # (topic, body, sent before: DUP)
        self.remote = remote  # serve.console_remote: answer clients that are not on loopback
        self.max_payload_bytes = max_payload_bytes
        self.max_connections = max_connections
        self.connections: set[_Connection] = set()
        self.loop = asyncio.new_event_loop()
        sock = _bound_socket(host, check_port(port, "MQTT port"))
        self._stopped = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.loop.run_forever, name="murano-sim-mqtt", daemon=True)
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._accept, sock=sock, ssl=tls), self.loop).result()
        shown = f"[{host}]" if ":" in host else host
        self.url = f"{'mqtts' if tls else 'mqtt'}://{shown}:{sock.getsockname()[1]}"
        self.ca_path = ca_path
        self.note = f"CA {ca_path} (verify the MQTT port's certificate with it)" if ca_path else None
        model.set_listeners.append(self._on_set)
        model.replaced_listeners.append(self._drop_devices)

    def _drop_devices(self) -> None:
        """The identities were replaced (reset, snapshot load): every device connection is closed, with no
        disconnect event for an identity that may not exist any more; a device reconnects with its token
        (refused if the new state does not know it) or provisions again."""
        def drop() -> None:
            self.kept.clear()  # values kept for offline devices belong to the replaced identities
            for connection in self.connections:
                if connection.identity is not None:
                    connection.identity = None
                    connection.writer.close()
        if not self._stopped:
            self.loop.call_soon_threadsafe(drop)

    def _on_set(self, identity: str, values: dict[str, Any], at: int) -> None:
        """Device2.setIdentityState (any thread): to every connection of that device."""
        def deliver() -> None:
            reached = False
            for connection in self.connections:
                if connection.identity == identity:
                    connection.deliver(values, at)
                    reached = True
            if not reached:  # Murano syncs values set while the device was offline when it connects
                kept = self.kept.setdefault(identity, [])
                kept.extend((f"$resource/{alias}/{at}", delivery_body(value), False) for alias, value in values.items())
                del kept[:-MAX_QUEUED]
        if not self._stopped:
            self.loop.call_soon_threadsafe(deliver)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = _Connection(self, reader, writer)
        if not self.remote and not is_loopback(connection.ip):
            log.warning("mqtt: %s refused: the MQTT port answers loopback clients only (serve.console_remote)",
                        connection.peer)
            writer.close()
            return
        if len(self.connections) >= self.max_connections:
            log.warning("mqtt: %s refused: %d connections are open already", connection.peer, self.max_connections)
            writer.close()
            return
        self.connections.add(connection)
        try:
            await connection.run()
        finally:
            self.connections.discard(connection)

    def shutdown(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        if self._on_set in self.model.set_listeners:
            self.model.set_listeners.remove(self._on_set)
        if self._drop_devices in self.model.replaced_listeners:
            self.model.replaced_listeners.remove(self._drop_devices)

        async def stop() -> None:
            self._server.close()
            for connection in list(self.connections):
                connection.writer.close()
            await asyncio.sleep(0)
        asyncio.run_coroutine_threadsafe(stop(), self.loop).result()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()  # else the loop is closed by the GC at exit, sometimes after its self-pipe: a traceback

    def __enter__(self: _Server) -> _Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url})"


class _Connection:
    def __init__(self, server: MqttDeviceServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.server, self.reader, self.writer = server, reader, writer
        peer = writer.get_extra_info("peername") or ("?", 0)
        self.ip: str = peer[0]
        self.peer = f"{peer[0]}:{peer[1]}"
        self.identity: str | None = None
        self.connection_id = uuid.uuid4().hex
        self.idle = READ_TIMEOUT_SECONDS  # until CONNECT; then the keep-alive's 1.5 times
        self.inflight: OrderedDict[int, tuple[str, bytes]] = OrderedDict()  # packet id -> QoS 1 delivery
        self.waiting: deque[tuple[str, bytes]] = deque()  # deliveries beyond MAX_INFLIGHT
        self._next_id = 0
        self._resender: asyncio.TimerHandle | None = None

    async def run(self) -> None:
        model = self.server.model
        try:
            connect = await self._read()
            if not isinstance(connect, ConnectPacket):
                raise Refused("the first packet was not CONNECT")
            if await self._connect(connect):
                while (packet := await self._read()) is not None:
                    await self._handle(packet)
        except Refused as exc:
            log.warning("mqtt: %s disconnected: %s", self.peer, exc)
        except TimeoutError:
            log.warning("mqtt: %s disconnected: idle for %g seconds", self.peer, self.idle)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass  # dropped: the disconnect event below says so
        finally:
            self.writer.close()
            if self._resender is not None:
                self._resender.cancel()
            if self.identity is not None:
                identity, self.identity = self.identity, None
                # Murano ignores Clean Session, acting as 0: unacknowledged deliveries go again on reconnect
                kept = [*((t, b, True) for t, b in self.inflight.values()), *((t, b, False) for t, b in self.waiting)]
                others = any(c is not self and c.identity == identity for c in self.server.connections)
                if kept and not others:  # another open connection of the device has them too
                    self.server.kept[identity] = kept[-MAX_QUEUED:]
                await self._call(lambda: model.disconnect(identity, ip=self.ip, protocol="mqtt"))

    async def _read(self) -> MQTTPacket[Any, Any, Any] | None:
        """The next packet from the client (None at a clean end), within the idle timeout."""
        return await asyncio.wait_for(self._decode(), self.idle)

    async def _decode(self) -> MQTTPacket[Any, Any, Any] | None:
        adapter = StreamReaderAdapter(self.reader)
        try:
            header = await MQTTFixedHeader.from_stream(adapter)
        except AMQTTError:
            raise Refused("a malformed packet header") from None
        if header is None:
            return None
        kind = packet_dict.get(header.packet_type)
        if kind is None or kind not in _FROM_CLIENTS and header.packet_type != 0x0E:
            raise Refused(f"packet type {header.packet_type} is not one a client sends")
        if header.remaining_length > self.server.max_payload_bytes + 65_540:  # payload bound + topic and id
            raise Refused(f"a packet of {header.remaining_length} bytes is over the bound")
        try:
            return await kind.from_stream(adapter, fixed_header=header)
        except (AMQTTError, UnicodeDecodeError, ValueError, IndexError) as exc:
            raise Refused(f"a malformed {kind.__name__} ({type(exc).__name__})") from None

    async def _call(self, work: Callable[[], T]) -> T:
        """A model call, off the loop: it may run the solution's handlers."""
        return await asyncio.to_thread(work)

    def _send(self, packet: MQTTPacket[Any, Any, Any]) -> None:
        if not self.writer.is_closing():
            self.writer.write(packet.to_bytes())

    async def _connect(self, connect: ConnectPacket) -> bool:
        """Answer CONNECT; True when the connection goes on (authenticated, or anonymous to provision)."""
        if (connect.proto_name, connect.proto_level) not in (("MQTT", 4), ("MQIsdp", 3)):
            self._send(ConnackPacket.build(0, BAD_PROTOCOL))
            raise Refused(f"protocol {connect.proto_name!r} level {connect.proto_level} (MQTT 3.1.1 is spoken)")
        keep_alive = connect.keep_alive or 0
        self.idle = keep_alive * 1.5 if keep_alive else IDLE_SECONDS
        token = connect.password
        if token:
            try:
                identity = await self._call(lambda: self.server.model.authenticate(token))
            except ServiceError as exc:
                self._send(ConnackPacket.build(0, BAD_CREDENTIALS if exc.status == 401 else NOT_AUTHORIZED))
                raise Refused(f"CONNACK refused: {exc.message}") from None
            if connect.username and connect.username != identity:
                self._send(ConnackPacket.build(0, BAD_CREDENTIALS))
                raise Refused("CONNACK refused: the username is neither empty nor the token's identity")
            await self._call(lambda: self.server.model.connect(identity, ip=self.ip, protocol="mqtt"))
            self.identity = identity
        kept = self.server.kept.pop(self.identity, []) if self.identity is not None else []
        # session present only where MQTT 3.1.1 allows it (3.2.2.2: clean session 0)
        self._send(ConnackPacket.build(1 if kept and not connect.clean_session_flag else 0, ACCEPTED))
        for topic, body, dup in kept:
            self._queue(topic, body, dup)
        await self.writer.drain()
        return True

    async def _handle(self, packet: MQTTPacket[Any, Any, Any]) -> None:
        if isinstance(packet, PublishPacket):
            await self._publish(packet)
        elif isinstance(packet, PingReqPacket):
            self._send(PingRespPacket.build())
        elif isinstance(packet, SubscribePacket):
            # Deliveries need no subscription (as on Murano); a subscription to $resource is granted, others fail.
            codes = [min(qos or 0, 1) if topic.startswith("$resource") else 0x80
                     for topic, qos in packet.payload.topics]
            self._send(SubackPacket.build(packet.packet_id, codes))
        elif isinstance(packet, UnsubscribePacket):
            self._send(UnsubackPacket.build(packet.packet_id))
        elif isinstance(packet, PubackPacket):
            self.inflight.pop(packet.packet_id, None)  # a delivery acknowledged: the next waiting one goes
            while self.waiting and len(self.inflight) < MAX_INFLIGHT:
                self._queue(*self.waiting.popleft())
        else:  # DISCONNECT: a clean end
            raise ConnectionResetError
        await self.writer.drain()

    async def _publish(self, packet: PublishPacket) -> None:
        if packet.qos not in (0, 1):
            raise Refused(f"QoS {packet.qos} (the device API takes QoS 0 and 1)")
        topic, payload = packet.topic_name, bytes(packet.data or b"")
        if len(payload) > self.server.max_payload_bytes:
            raise Refused(f"a payload of {len(payload)} bytes is over serve.max_body_bytes")
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused(f"the payload on {topic!r} is not UTF-8") from None
        if topic.startswith("$provision/") and self.identity is None:
            await self._provision(topic[len("$provision/"):])
        elif self.identity is None:
            raise Refused(f"an anonymous connection published to {topic!r} (connect with the token as password)")
        else:
            await self._write(topic, text)
        if packet.qos == 1:
            self._send(PubackPacket.build(packet.packet_id))

    async def _provision(self, identity: str) -> None:
        if not identity or "/" in identity:
            raise Refused("provision by publishing to $provision/<identity>")
        try:
            token = await self._call(lambda: self.server.model.activate(identity, ip=self.ip))
        except ServiceError as exc:
            # No token and no close (MQTT has no negative PUBACK): murano-client waits for a token and
            # crashes its network thread on a dropped connection, so Murano cannot be closing it.
            log.warning("mqtt: %s provisioning %r refused: %s", self.peer, identity, exc.message)
            return
        self._send(PublishPacket.build(f"$provision/{identity}", token.encode(), None, False, 0, False))

    async def _write(self, topic: str, text: str) -> None:
        identity = self.identity
        assert identity is not None
        if topic == "$resource.batch":
            batches = _batch(text)
        elif topic.startswith("$resource/") and "/" not in topic[len("$resource/"):] and topic != "$resource/":
            batches = [(None, {topic[len("$resource/"):]: text})]
        else:  # a device names only its own resources; any other topic is someone else's
            raise Refused(f"a device publishes to $resource/<alias> or $resource.batch, not {topic!r}")
        model = self.server.model
        # timestamped items are a record (one data_in event, each entry at its own time), as HTTP record
        recorded = [(at, values) for at, values in batches if at is not None]
        calls: list[Callable[[], object]] = [
            partial(model.data_in, identity, values, ip=self.ip, connection_id=self.connection_id)
            for at, values in batches if at is None]
        if recorded:
            calls.append(partial(model.record, identity, recorded, ip=self.ip, connection_id=self.connection_id))
        for call in calls:
            try:
                await self._call(call)  # data_in's turn is waited for off the loop
            except ServiceError as exc:  # the device sees no error over MQTT: the write is dropped, logged
                log.warning("mqtt: %s (%s) write dropped: %s", self.peer, identity, exc.message)

    def deliver(self, values: dict[str, Any], at: int) -> None:
        """Set values to this device, one message per alias (QoS 1, no subscription needed)."""
        for alias, value in values.items():
            self._queue(f"$resource/{alias}/{at}", delivery_body(value))

    def _queue(self, topic: str, body: bytes, dup: bool = False) -> None:
        """Send a QoS 1 delivery now if fewer than MAX_INFLIGHT await their PUBACK, else keep it waiting."""
        if len(self.inflight) >= MAX_INFLIGHT:
            if len(self.waiting) >= MAX_QUEUED:
                self.waiting.popleft()
                log.warning("mqtt: %s (%s) is not acknowledging; the oldest waiting set value was dropped",
                            self.peer, self.identity)
            self.waiting.append((topic, body))
            return
        self._next_id = self._next_id % 0xFFFF + 1
        while self._next_id in self.inflight:  # ids of unacknowledged messages are not reused
            self._next_id = self._next_id % 0xFFFF + 1
        self.inflight[self._next_id] = (topic, body)
        self._send(PublishPacket.build(topic, body, self._next_id, dup, 1, False))
        if self._resender is None:
            self._resender = self.server.loop.call_later(self.server.resend_seconds, self._resend)

    def _resend(self) -> None:
        """Send every unacknowledged delivery again, flagged DUP, while some remain."""
        self._resender = None
        if not self.inflight or self.writer.is_closing():
            return
        for packet_id, (topic, body) in self.inflight.items():
            self._send(PublishPacket.build(topic, body, packet_id, True, 1, False))
        self._resender = self.server.loop.call_later(self.server.resend_seconds, self._resend)


def delivery_body(value: Any) -> bytes:
    """A set value as the device receives it: text, numbers as the HTTP API writes them, objects as JSON."""
    text = value if isinstance(value, str) else number_text(value) if isinstance(value, (int, float)) \
        else json.dumps(value)
    return text.encode()


def _batch(text: str) -> list[tuple[float | None, dict[str, Any]]]:
    """$resource.batch's items as (Unix seconds or None, values). murano-client sends each item's
    `timestamp` in microseconds (int(time.time() * 1e6)); its `gdc mqtt publish` help shows seconds:
    a timestamp below SECONDS_BOUND is taken as seconds."""
    try:
        data = json.loads(text)
    except ValueError:
        raise Refused("$resource.batch takes JSON") from None
    items = data if isinstance(data, list) else [{"values": data}]
    out: list[tuple[float | None, dict[str, Any]]] = []
    for item in items:
        values = item.get("values") if isinstance(item, dict) else None
        if not isinstance(values, dict):
            raise Refused('$resource.batch takes {"alias": value, ...} or [{"values": {...}}, ...]')
        at = item.get("timestamp")
        if at is not None and (isinstance(at, bool) or not isinstance(at, (int, float))
                               or not math.isfinite(at) or at < 0):
            raise Refused(f"$resource.batch: timestamp {str(at)[:40]!r} is not a Unix time (µs or s)")
        out.append((None if at is None else at if at < SECONDS_BOUND else at / 1_000_000, values))
    return out


def _bound_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except (OSError, OverflowError) as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port} ({getattr(exc, 'strerror', None) or exc})") from None
    return sock


def serve_mqtt(services: Any, host: str = "127.0.0.1", port: int = 0) -> MqttDeviceServer:
    """Serve the MQTT device API for `services` (stop it with .shutdown()). TLS with the local CA
    unless serve.mqtt_tls is false."""
    service = services.by_alias.get("device2")
    if service is None:
        raise UsageError("the MQTT device API needs the device2 service")
    serve = services.config.data.get("serve") or {}
    tls, ca_path = None, None
    if serve.get("mqtt_tls", True):
        ca = LocalCA(Path(serve.get("mqtt_ca_dir") or data_dir() / "ca"))
        tls, ca_path = ca.server_context(), ca.ca_path
    return MqttDeviceServer(service.model, host, port, tls=tls, ca_path=ca_path,
                            max_payload_bytes=int(serve.get("max_body_bytes") or DEFAULT_MAX_BODY_BYTES),
                            remote=bool(serve.get("console_remote", False)),
                            resend_seconds=float(serve.get("mqtt_resend_seconds") or RESEND_SECONDS))
