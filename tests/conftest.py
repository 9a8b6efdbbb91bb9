"""Shared fixtures for murano-sim's own tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from murano_sim import Runtime

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def runtime() -> Iterator[Runtime]:
    """One reused Runtime, as users get it: the point is that runs stay isolated."""
    with Runtime({}) as rt:
        yield rt


def run(rt: Runtime, source: str, **kwargs):
    """Run and fail loudly with the script error when a test expects success."""
    return rt.run(source, **kwargs)
