"""What a service is to the rest of murano-sim: one `ServicePlugin`, found by `discover()`.

A service lives in one place: a folder `murano_sim/services/<alias>/` whose `__init__.py` defines
`PLUGIN`, or a package of the user's own named in the entry-point group `murano_sim.services`.
Everything the rest of the house needs to know about a service comes from its plugin and its
spec: aliases and global names, event argument names, the schema of its config sections, its
secrets and environment variables, its control (seed, inspect, reset, actions), its console
panel, its CLI commands, its pytest fixtures and yaml case keys. Nothing outside the folder
names the service.

Plugins are cheap to build: they hold paths and "module:attribute" strings, so discovering
every service imports no model, no Werkzeug and no fakeredis.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .spec import ServiceSpec, load_spec

ENTRY_POINT_GROUP = "murano_sim.services"
log = logging.getLogger("murano_sim.services")


@dataclass(frozen=True)
class ServicePlugin:
    """One service: its spec (data) and where its parts live ("module:attribute" strings, imported when used)."""

    spec: Path  # spec.yaml: alias, globals, operations, events (name -> handler argument), config keys, settings
    # The local executor's model class (default: the spec's `implementation`).
    model: str | None = None
    # An http service's local backend: "module:factory", factory(host) -> a WSGI app mounted behind the transport
    # when its settings say `backend: local` (the same HTTP requests the live API would receive).
    wire: str | None = None
    # "module:factory", factory(service) -> Control; default: the generic control over the model (control.py).
    control: str | None = None
    # Top-level config.yaml sections the service owns besides services.<alias> (name -> JSON Schema).
    sections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Defaults of services.<alias> (and of its own top-level sections), merged under the user's config.
    defaults: Mapping[str, Any] = field(default_factory=dict)
    # config key -> the one environment variable allowed to fill it (credentials), see config's trust rules.
    env: Mapping[str, str] = field(default_factory=dict)
    # "module:function", function(section, own_sections, source) -> None: checks beyond the JSON Schema
    # (ConfigError); own_sections are its top-level `sections` by name.
    check_settings: str | None = None
    # "module:function", function(section, where) -> None: before its live backend is used (credentials).
    check_live: str | None = None
    # "module:function", function(subparsers) -> {command: handler(args) -> exit code}: CLI commands it adds.
    cli: str | None = None
    # "module:attribute": the console panel (routes and static assets), when the service has one.
    console: str | None = None
    # pytest fixture names this service's control serves (control.fixture()).
    fixtures: tuple[str, ...] = ()
    # yaml case keys: the top-level `seed:`/`expect:` keys whose values go to control.seed()/control.inspect().
    case_keys: tuple[str, ...] = ()
    # A Murano core service (Config.listServices says "core"); False for an exchange (third-party) service.
    core: bool = True
    # Extra ports the service opens beside a served solution: label -> "module:factory",
    # factory(services, host, port) -> net.listen.BackgroundServer; `serve` prints "<label>: URL".
    listeners: Mapping[str, str] = field(default_factory=dict)
    # "module:function", function(services, url): told the served solution's base URL (e.g. to resolve
    # relative webhook URLs against it).
    on_serve: str | None = None

    @property
    def alias(self) -> str:
        return read_spec(self.spec).alias

    def read_spec(self) -> ServiceSpec:
        return read_spec(self.spec)


@cache
def read_spec(path: Path) -> ServiceSpec:
    """A shipped or installed spec file, parsed once per process (they do not change while it runs)."""
    return load_spec(path)


def load_attribute(reference: str) -> Any:
    """"package.module:attribute" -> the attribute."""
    module_name, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


@cache
def builtin_plugins() -> tuple[ServicePlugin, ...]:
    """Every sub-package of murano_sim.services with a PLUGIN (a deleted folder is simply absent)."""
    found = []
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
        if not info.ispkg:
            continue
        module = importlib.import_module(f"{__package__}.{info.name}")
        plugin = getattr(module, "PLUGIN", None)
        if isinstance(plugin, ServicePlugin):
            found.append(plugin)
    return tuple(found)


@cache
def installed_plugins() -> tuple[ServicePlugin, ...]:
    """Out-of-tree services: entry points in the group `murano_sim.services`, each "pkg.module:PLUGIN".
    A broken one is one log line, never a crash."""
    found = []
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            plugin = point.load()
        except Exception as exc:  # a user's package: report it, keep the built-in services working
            log.warning("service plugin %s (%s) could not be loaded: %s", point.name, point.value, exc)
            continue
        if not isinstance(plugin, ServicePlugin):
            log.warning("service plugin %s (%s) is not a murano_sim ServicePlugin", point.name, point.value)
            continue
        found.append(plugin)
    return tuple(found)


def discover(extra: Iterable[ServicePlugin] = ()) -> list[ServicePlugin]:
    """Built-in services, then installed ones, then `extra` (tests, stand-ins); an alias twice is a ConfigError."""
    plugins = [*builtin_plugins(), *installed_plugins(), *extra]
    seen: dict[str, ServicePlugin] = {}
    for plugin in plugins:
        alias = plugin.alias
        if alias in seen:
            raise ConfigError(f"service {alias!r} is defined twice: {seen[alias].spec} and {plugin.spec}")
        seen[alias] = plugin
    return plugins


def loaded(reference: str | None, default: Callable[..., Any] | None = None) -> Callable[..., Any] | None:
    """The attribute a plugin names, or the default when it names none."""
    return load_attribute(reference) if reference else default
