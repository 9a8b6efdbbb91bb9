"""The configuration composed from every service plugin: config/ knows no service, so this is
the loader the rest of murano-sim (and `murano_sim.load_config`) uses. Each plugin hands in the
schema of its `services.<alias>` section (from its spec), its defaults, the environment
variables that may fill its keys, the top-level sections it owns and its own checks."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from ..config import Config, ServiceSettings
from ..config import load_config as load_with
from .plugin import ServicePlugin, discover, loaded
from .spec import ServiceSpec

_SPEC_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}
# murano-sim's own keys of every http service (its transport to the live API or the local backend).
_HTTP_SETTINGS: dict[str, Any] = {
    "backend": {"enum": ["local", "live"]},
    "base_url": {"type": "string", "pattern": "^https?://"},
    "timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 300},
    "retries": {"type": "integer", "minimum": 0, "maximum": 10},
    "backoff_seconds": {"type": "number", "minimum": 0, "maximum": 10},
}


def _rules_schema(rules: Mapping[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = {}
    kind = _SPEC_TYPES.get(str(rules.get("type")))
    if kind:
        schema["type"] = [kind, "string"] if kind != "string" else "string"  # ${VAR} expands to text
    if rules.get("enum"):
        schema["enum"] = list(rules["enum"])
    return schema


def section_schema(spec: ServiceSpec) -> dict[str, Any]:
    """The JSON Schema of services.<alias>: Murano's configuration parameters and murano-sim's settings."""
    properties = {key: _rules_schema(rules) for key, rules in spec.config_keys.items()}
    properties.update({key: _rules_schema(rules) for key, rules in spec.settings.items()})
    if spec.kind == "http":
        properties.update(_HTTP_SETTINGS)
    return {"type": "object", "additionalProperties": False, "properties": properties}


def plugin_settings(plugin: ServicePlugin) -> ServiceSettings:
    """What config needs of one plugin; `defaults` keys naming one of its sections are that section's defaults."""
    defaults = {k: v for k, v in plugin.defaults.items() if k not in plugin.sections}
    section_defaults = {k: v for k, v in plugin.defaults.items() if k in plugin.sections}
    return ServiceSettings(
        alias=plugin.alias, schema=section_schema(plugin.read_spec()), defaults=defaults,
        sections=plugin.sections, section_defaults=section_defaults, env=plugin.env,
        check=loaded(plugin.check_settings), check_live=loaded(plugin.check_live),
    )


@cache
def _discovered() -> tuple[ServiceSettings, ...]:
    return tuple(plugin_settings(plugin) for plugin in discover())


def known_services(extra_specs: Sequence[ServiceSpec] = ()) -> tuple[ServiceSettings, ...]:
    """Every discovered service's settings, then those of extra specs (stand-ins, tests' own services)."""
    extra = tuple(ServiceSettings(alias=spec.alias, schema=section_schema(spec)) for spec in extra_specs)
    return (*_discovered(), *extra)


def load_config(
    config: str | os.PathLike[str] | Mapping[str, Any] | Config | None = None,
    *,
    extra_specs: Sequence[ServiceSpec] = (),
) -> Config:
    """Build a Config from a path, a dict, or None (./config.yaml if present, else defaults), knowing every
    discovered service (and extra specs, whose services.<alias> sections are then known)."""
    return load_with(config, services=known_services(extra_specs))
