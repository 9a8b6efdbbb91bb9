"""What config needs to know of one service, handed in by whoever loads a config (config names no service)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ServiceSettings:
    """What config needs to know of one service. Config names no service: whoever loads a config
    (murano_sim.load_config, the runtime, the CLI) hands these in, built from the service plugins."""

    alias: str
    schema: Mapping[str, Any]  # JSON Schema of services.<alias>
    defaults: Mapping[str, Any] = field(default_factory=dict)  # services.<alias> defaults
    sections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # top-level sections it owns -> schema
    section_defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)  # key -> the one environment variable that may fill it
    # (section, its own top-level sections, source) -> None: checks beyond the schema; it may settle values
    # the schema cannot (e.g. credentials a live backend must not get by default). Raises ConfigError.
    check: Callable[[dict[str, Any], Mapping[str, dict[str, Any]], str], None] | None = None
    # (section, "source: services.<alias>") -> None: run before the service's live backend is used.
    check_live: Callable[[dict[str, Any], str], None] | None = None
