"""murano-sim's own defects fail the running test, as pytest-httpserver's check_assertions does."""

from __future__ import annotations

import pytest

from ..runtime.result import ScriptResult


def fail_on_internal_error(result: ScriptResult) -> ScriptResult:
    """Fail the test with the traceback if murano-sim itself failed during the run (never the script's fault)."""
    if result.internal_error:
        pytest.fail(f"murano-sim internal error during the script run (a murano-sim bug):\n{result.internal_error}",
                    pytrace=False)
    return result
