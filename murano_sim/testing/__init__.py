"""pytest support for Murano scripts: fixtures, `test_*.murano.yaml` case files, `*_test.lua` tests.

The plugin itself (murano_sim.testing.plugin) is registered through the pytest11 entry point.
"""

from ..services.twilio.fixture import TwilioControl
from .cases import Case, CaseFileError, load_cases
from .runner import ScriptRunner
from .testbed import base_config, merge_config, open_testbed

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
