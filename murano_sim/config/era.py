"""The era: which year's Murano a solution was written for, where the platform changed over the years.

Derived from the layout (solution/layouts.py: Solutionfile.json 2016, MuranoCLI's project files 2017,
murano.yaml and plain folders the current platform); config.yaml's top-level `era` overrides it.
Every service receives it as ServiceHost.era and compares years (`host.era <= 2017`).
"""

from __future__ import annotations

from typing import Any

SOLUTIONFILE_ERA = 2016  # Solutionfile.json: Murano's first tools (2016)
MURANOCLI_ERA = 2017  # MuranoCLI: `<name>.murano`, `.murano/config` (2017)
CURRENT_ERA = 2021  # murano.yaml and plain folders: the platform as documented today
FIRST_ERA = SOLUTIONFILE_ERA
SCHEMA: dict[str, Any] = {"type": "integer", "minimum": FIRST_ERA, "maximum": CURRENT_ERA}


def effective_era(configured: Any, layout_era: int | None) -> int:
    """config.yaml's `era` when given (already validated by the schema), else the layout's, else current."""
    if isinstance(configured, int) and not isinstance(configured, bool):
        return configured
    return layout_era if layout_era is not None else CURRENT_ERA
