"""Helpers for tests that drive a service from Lua."""

from __future__ import annotations

from typing import Any

from murano_sim import Runtime


def lua_value(runtime: Runtime, source: str) -> Any:
    """Run `source` and return what it returned; a script error fails the test with its message."""
    result = runtime.run(source)
    assert result.error is None, result.error
    return result.response.message
