"""The Device2 service: its spec, its model (model.py) and its control (control.py)."""

from pathlib import Path

from ..plugin import ServicePlugin

PLUGIN = ServicePlugin(
    spec=Path(__file__).parent / "spec.yaml",
    control=f"{__name__}.control:factory",
    fixtures=("devices",),
    case_keys=("devices",),
    listeners={"devices": f"{__name__}.device_api:serve_devices",  # the device HTTP API (--device-port)
               "mqtt": f"{__name__}.mqtt_api:serve_mqtt"},  # the MQTT device API (--mqtt-port)
    cli=f"{__name__}.cli:register",
)
