"""Device writes per second into a `data_in` handler that writes Tsdb: MQTT (paho-mqtt, QoS 1, over
TLS) beside HTTP (requests, keep-alive, POST /onep:v1/stack/alias), in one run of `murano-sim serve`,
at 1 and 16 devices.

    python scripts/bench/bench_mqtt_vs_http.py [--seconds S] [--rounds R]

Only writes whose handler ran count: the handler increments a Keystore counter per protocol, read
back after each phase. Each device writes one value at a time and waits for its answer (HTTP 204,
MQTT PUBACK, both sent after the handler ran). Goal: MQTT >= 0.9x HTTP at 16 devices.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import requests

ROOT = Path(__file__).resolve().parents[2]
HANDLER = """--#EVENT device2 data_in
local proto = event.payload[1].values.proto or "?"
Tsdb.write{metrics = {level = tonumber(event.payload[1].values.level) or 0}, tags = {identity = event.identity}}
Keystore.command{key = "count:" .. proto, command = "incr"}
"""
COUNTS = """--#ENDPOINT GET /count/{proto}
return Keystore.get{key = "count:" .. request.parameters.proto}.value or "0"
"""


def solution(root: Path) -> None:
    (root / "murano.yaml").write_text("formatversion: 1.0.0\n")
    (root / "endpoints").mkdir()
    (root / "endpoints" / "count.lua").write_text(COUNTS)
    (root / "services").mkdir()
    (root / "services" / "device2_data_in.lua").write_text(HANDLER)


class Serve:
    def __init__(self, root: Path, data: Path) -> None:
        env = {**os.environ, "XDG_DATA_HOME": str(data), "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "murano_sim.cli", "serve", str(root), "--port", "0", "--no-rate-limit"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        assert self.proc.stdout is not None
        self.api = self.proc.stdout.readline().strip()
        self.devices = self.proc.stdout.readline().strip().removeprefix("devices: ")
        self.mqtt = urlsplit(self.proc.stdout.readline().strip().removeprefix("mqtt: "))
        self.ca = data / "murano-sim" / "ca" / "ca.pem"
        # one log line per execution: drained so that serve never blocks on a full pipe
        threading.Thread(target=lambda: [None for _ in self.proc.stdout or []], daemon=True).start()

    def count(self, proto: str) -> int:
        return int(requests.get(f"{self.api}/count/{proto}", timeout=30).text)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def http_device(serve: Serve, identity: str, stop: threading.Event) -> None:
    session = requests.Session()
    token = session.post(f"{serve.devices}/provision/activate", data={"id": identity}, timeout=30).text
    headers = {"X-Exosite-CIK": token}
    n = 0
    while not stop.is_set():
        n += 1
        session.post(f"{serve.devices}/onep:v1/stack/alias", data={"proto": "http", "level": str(n)},
                     headers=headers, timeout=30)


def mqtt_device(serve: Serve, identity: str, stop: threading.Event) -> None:
    token = requests.post(f"{serve.devices}/provision/activate", data={"id": identity}, timeout=30).text
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="", protocol=mqtt.MQTTv311)
    client.tls_set(ca_certs=str(serve.ca))
    client.username_pw_set("", token)
    client.connect(serve.mqtt.hostname or "127.0.0.1", serve.mqtt.port or 8883, keepalive=60)
    client.loop_start()
    n = 0
    while not stop.is_set():
        n += 1
        client.publish("$resource.batch", f'{{"proto": "mqtt", "level": "{n}"}}', qos=1).wait_for_publish(30)
    client.disconnect()
    client.loop_stop()


def phase(serve: Serve, proto: str, devices: int, seconds: float, tag: str) -> float:
    """Writes per second whose handler ran, `devices` devices writing at once for `seconds`."""
    work = http_device if proto == "http" else mqtt_device
    stop = threading.Event()
    before = serve.count(proto)
    threads = [threading.Thread(target=work, args=(serve, f"{tag}-{proto}-{i}", stop)) for i in range(devices)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    return (serve.count(proto) - before) / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root, data = Path(tmp) / "solution", Path(tmp) / "data"
        root.mkdir()
        solution(root)
        serve = Serve(root, data)
        try:
            print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}; cpus: {os.cpu_count()}")
            for devices in (1, 16):
                for r in range(args.rounds):
                    http = phase(serve, "http", devices, args.seconds, f"r{r}d{devices}")
                    mq = phase(serve, "mqtt", devices, args.seconds, f"r{r}d{devices}")
                    print(f"{devices:2d} devices  round {r + 1}: http {http:7.1f}/s  mqtt {mq:7.1f}/s  "
                          f"mqtt/http {mq / http:.2f}x", flush=True)
        finally:
            serve.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
