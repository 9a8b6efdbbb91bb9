"""A service from a package of one's own: this PLUGIN is all murano-sim needs (entry point or discover(extra=...))."""

from pathlib import Path

from murano_sim.services import ServicePlugin

PLUGIN = ServicePlugin(spec=Path(__file__).parent / "spec.yaml")
