"""The Email service: its spec and its model (model.py)."""

from pathlib import Path

from ..plugin import ServicePlugin

PLUGIN = ServicePlugin(spec=Path(__file__).parent / "spec.yaml", cli=f"{__name__}.cli:register")
