"""The Email service: its spec, its model (model.py) and its control (control.py)."""

from pathlib import Path

from ..plugin import ServicePlugin

PLUGIN = ServicePlugin(
    spec=Path(__file__).parent / "spec.yaml",
    control=f"{__name__}.control:factory",
    fixtures=("outbox",),
    case_keys=("outbox",),
    cli=f"{__name__}.cli:register",
)
