"""Shared set-up for the plugin's tests: inner pytest sessions (pytester) without unrelated plugins."""

from __future__ import annotations

import pytest

# pytester restores sys.modules after each in-process run, so a third-party plugin that imports
# a large library lazily (hypothesis does, at summary time) would re-import it in every inner
# session. Only murano-sim's plugin (and xdist where a test asks for it) matters here.
INNER_ADDOPTS = "-p no:hypothesispytest -p no:benchmark -p no:cacheprovider"


@pytest.fixture(autouse=True)
def inner_sessions_without_unrelated_plugins(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_ADDOPTS", INNER_ADDOPTS)
