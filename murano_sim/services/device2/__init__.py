"""The Device2 service: its spec and its model (model.py)."""

from pathlib import Path

from ..plugin import ServicePlugin

PLUGIN = ServicePlugin(
    spec=Path(__file__).parent / "spec.yaml",
    listeners={"devices": f"{__name__}.device_api:serve_devices"},  # the device HTTP API (--device-port)
    cli=f"{__name__}.cli:register",
)
