"""pytest support for Murano scripts: fixtures, `test_*.murano.yaml` case files, `*_test.lua` tests.

The plugin itself (murano_sim.testing.plugin) is registered through the pytest11 entry point.
"""

from typing import Any

from .cases import Case, CaseFileError, load_cases
from .runner import ScriptRunner
from .testbed import base_config, merge_config, open_testbed


def __getattr__(name: str) -> Any:
    # The documented `from murano_sim.testing import TwilioControl` (docs/testing.md), imported when
    # asked for: the package imports and tests run with that service's folder removed.
    if name == "TwilioControl":
        from ..services.twilio.fixture import TwilioControl

        return TwilioControl
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Case",
    "CaseFileError",
    "ScriptRunner",
    "TwilioControl",
    "base_config",
    "load_cases",
    "merge_config",
    "open_testbed",
]
