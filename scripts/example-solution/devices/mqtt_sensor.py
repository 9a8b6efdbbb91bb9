"""A temperature sensor over MQTT, as firmware would be written with paho-mqtt: it provisions
itself (`$provision/<identity>`, the token comes back as a message), then reports readings to
`$resource/temperature` at QoS 1 and prints the values the solution sets. The solution's
`device2 data_in` handler runs for these exactly as for an HTTP device's writes.

    murano-sim serve scripts/example-solution      # prints `mqtt: mqtts://127.0.0.1:PORT` and the CA
    python scripts/example-solution/devices/mqtt_sensor.py mqtts://127.0.0.1:PORT CA.pem sensor-7 20.5 31
"""

from __future__ import annotations

import queue
import sys
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt

WAIT = 30  # seconds for an answer from the server


def connect(url: str, ca: str, token: str | None) -> tuple[mqtt.Client, queue.Queue[tuple[str, str]]]:
    parts = urlsplit(url)
    messages: queue.Queue[tuple[str, str]] = queue.Queue()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="", protocol=mqtt.MQTTv311)
    if parts.scheme == "mqtts":
        client.tls_set(ca_certs=ca)  # verify murano-sim's certificate with its local CA
    if token:
        client.username_pw_set("", token)  # Murano: an empty username and the token as password
    client.on_message = lambda c, u, m: messages.put((m.topic, m.payload.decode()))
    client.connect(parts.hostname or "127.0.0.1", parts.port or 8883, keepalive=60)
    client.loop_start()
    return client, messages


def provision(url: str, ca: str, identity: str) -> str:
    client, messages = connect(url, ca, None)
    client.publish(f"$provision/{identity}", "", qos=1).wait_for_publish(WAIT)
    topic, token = messages.get(timeout=WAIT)
    client.disconnect()
    client.loop_stop()
    return token


def report(url: str, ca: str, token: str, readings: list[float]) -> None:
    """Each reading at QoS 1: publish returns once Murano acknowledged it (the handler ran)."""
    client, messages = connect(url, ca, token)
    for celsius in readings:
        client.publish("$resource/temperature", str(celsius), qos=1).wait_for_publish(WAIT)
    client.disconnect()
    client.loop_stop()


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    url, ca, identity, *readings = argv
    report(url, ca, provision(url, ca, identity), [float(r) for r in readings])
    print(f"{identity}: reported {len(readings)} readings over MQTT")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
