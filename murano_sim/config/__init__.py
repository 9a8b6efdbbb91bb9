"""config.yaml: loading, ${VAR} substitution, defaults, validation and secret redaction."""

from __future__ import annotations

import copy
import functools
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from ..errors import ConfigError
from ..net.hosts import is_loopback_host, unambiguous_host
from . import yamlfile
from .schema import check_config
from .service_settings import ServiceSettings

__all__ = [
    "DEFAULTS", "Config", "Gate", "LuaLimits", "ServiceSettings", "check_live_credentials", "is_secret_key",
    "load_config", "merge", "redact", "substitute",
]
from .trust import HOW_TO_ALLOW, Consent
from .trust import active as active_consent

DEFAULTS: dict[str, Any] = {
    "lua": {
        "max_instructions": 65536,  # Murano documents "64k Lua instructions"
        "max_memory": 1048576,  # Murano documents 1 MB of RAM per execution
        "timeout_seconds": 30,
        "max_log_lines": 1000,
        "max_log_bytes": 65536,
        "max_vm_memory": 67108864,  # a solution's hot VM is rebuilt after an execution that leaves more
    },
    "env": {},
    "services": {},  # each service's defaults are handed in with it (ServiceSettings.defaults)
    "serve": {
        "max_body_bytes": 10 * 1024 * 1024,  # request bodies above it get 413
        # Values a served endpoint's --#SECURITY credential must match (opt-in; empty: presence only).
        "security": {"basic": [], "bearer": [], "apiKey": []},
    },
}

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SECRET_KEYS = {"AuthToken", "auth_token", "password", "Password", "bearer", "apiKey"}


@dataclass(frozen=True)
class LuaLimits:
    max_instructions: int
    max_memory: int
    timeout_seconds: float
    max_log_lines: int
    max_log_bytes: int
    max_vm_memory: int = 67108864


@dataclass
class Config:
    """The validated configuration. `data` is the merged dict; never print it whole."""

    data: dict[str, Any]
    source: str = "built-in defaults"
    base_dir: Path = field(default_factory=Path.cwd)
    known: tuple[ServiceSettings, ...] = ()  # the services it was loaded with
    warnings: list[str] = field(default_factory=list)  # "file:line: key: what", as serve and check print them

    @property
    def limits(self) -> LuaLimits:
        lua = self.data["lua"]
        cached = self.__dict__.get("_limits")
        if cached is None or cached[0] != lua:  # rebuilt only if someone edited data["lua"]
            cached = self.__dict__["_limits"] = (dict(lua), LuaLimits(**lua))
        return cached[1]

    @property
    def env(self) -> dict[str, str]:
        return self.data["env"]

    @property
    def services(self) -> dict[str, dict[str, Any]]:
        return self.data["services"]

    def section(self, name: str) -> dict[str, Any]:
        """A top-level section a service owns besides services.<alias> (empty when none is known)."""
        value = self.data.get(name)
        return value if isinstance(value, dict) else {}

    def secrets(self) -> list[str]:
        """Every secret value in the config, longest first (for redaction). A loaded config's secrets do not
        change, and every execution asks for them: found once."""
        cached: list[str] | None = self.__dict__.get("_secrets")
        if cached is None:
            cached = self.__dict__["_secrets"] = self._find_secrets()
        return list(cached)

    def _find_secrets(self) -> list[str]:
        found: list[str] = []

        def walk(node: Any, key: str | None = None) -> None:
            if isinstance(node, Mapping):
                for k, v in node.items():
                    walk(v, str(k))
            elif isinstance(node, list):
                for v in node:
                    walk(v, key)
            elif key in _SECRET_KEYS and isinstance(node, str) and node:
                found.append(node)

        walk(self.data)
        return sorted(set(found), key=len, reverse=True)

    def __repr__(self) -> str:
        return f"Config(source={self.source!r})"


def is_secret_key(key: str) -> bool:
    """A key whose value is a secret (redacted from logs and output)."""
    return key in _SECRET_KEYS


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret in text by a fixed marker, also as JSON writes it (a secret with a quote,
    a backslash, a control or non-ASCII character is escaped in serialised records)."""
    for secret in secrets:
        if secret:
            for form in _written_forms(secret):
                text = text.replace(form, "[REDACTED]")
    return text


@functools.lru_cache(maxsize=256)
def _written_forms(secret: str) -> tuple[str, ...]:
    escaped = {json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]} - {secret}
    return (*sorted(escaped, key=len, reverse=True), secret)


def substitute(
    node: Any, environ: Mapping[str, str] | None = None, gate: Gate | None = None, where: tuple[str, ...] = ()
) -> Any:
    """Expand ${VAR} and ${VAR:-default} in every string of a parsed YAML tree.

    With a gate, a variable it does not allow is not read: it expands to its default (or "")."""
    environ = os.environ if environ is None else environ

    def value(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2) or ""
        if gate is not None and not gate.may_read(name, where):
            return default
        return environ.get(name) or default

    if isinstance(node, str):
        return _VAR.sub(value, node)
    if isinstance(node, list):
        return [substitute(v, environ, gate, where) for v in node]
    if isinstance(node, Mapping):
        return {k: substitute(v, environ, gate, (*where, str(k))) for k, v in node.items()}
    return node


class Gate:
    """What an untrusted config file may use without consent (DECISIONS.md, "Trust in a repository"):
    murano-sim's own variables, each where it belongs (a service's variable only in its own key),
    and loopback; the user's own file may add more. Every refusal is collected for one line on stderr."""

    def __init__(self, consent: Consent, services: Sequence[ServiceSettings] = ()) -> None:
        self.consent = consent
        self.services = {s.alias: s for s in services}
        self.refused: list[str] = []

    def may_read(self, name: str, where: tuple[str, ...]) -> bool:
        if name.startswith("MURANO_SIM_") or name in self.consent.variables or self._own_variable(name, where):
            return True
        self._refuse(f"${{{name}}} in {'.'.join(where) or '(top level)'}")
        return False

    def _own_variable(self, name: str, where: tuple[str, ...]) -> bool:
        """services.<alias>.<key> filled by the one variable the service names for that key."""
        if len(where) != 3 or where[0] != "services" or where[1] not in self.services:
            return False
        return self.services[where[1]].env.get(where[2]) == name

    def may_reach(self, host: str | None) -> bool:
        """Loopback (or no network host at all, as a unix socket), or a host the user allows."""
        if host is None:
            return True
        return is_loopback_host(host) or host.lower() in self.consent.hosts

    def _refuse(self, what: str) -> None:
        if what not in self.refused:
            self.refused.append(what)

    def restrict_egress(self, data: dict[str, Any]) -> None:
        """Drop every setting of the file that sends data beyond loopback to a host not allowed:
        allow_hosts lists, a service's `url` (a remote server), a service's `backend: live`."""
        services: dict[str, Any] = data["services"] if isinstance(data.get("services"), dict) else {}
        owned = [name for s in self.services.values() for name in s.sections]
        sections = [(f"services.{alias}", section) for alias, section in services.items()]
        sections += [(name, data.get(name)) for name in owned]
        for where, section in sections:
            if isinstance(section, dict) and isinstance(section.get("allow_hosts"), list):
                hosts = section["allow_hosts"]
                section["allow_hosts"] = [h for h in hosts if isinstance(h, str) and self.may_reach(h)]
                if section["allow_hosts"] != hosts:
                    self._refuse(f"{where}.allow_hosts")
        for alias, section in services.items():
            if not isinstance(section, dict):
                continue
            if section.get("url") and not self.may_reach(_url_host(section["url"])):
                del section["url"]  # the in-process model instead of a remote server
                self._refuse(f"services.{alias}.url")
            if section.get("backend") == "live":
                known = self.services.get(alias)
                base_url = str(section.get("base_url") or (known.defaults.get("base_url") if known else "") or "")
                if not self.may_reach(unambiguous_host(base_url) or "?"):
                    section["backend"] = "local"  # the local backend instead of the real API
                    self._refuse(f"services.{alias}.backend: live")

    def report(self, source: str) -> None:
        if self.refused:
            self.consent.report(f"{source}: not trusted, so ignored: {', '.join(self.refused)}; {HOW_TO_ALLOW}")


def _url_host(url: Any) -> str | None:
    """The network host of a URL such as redis://host:port/db; None for a unix socket."""
    try:
        split = urlsplit(str(url))
    except ValueError:
        return "?"
    if split.scheme == "unix":
        return None
    return split.hostname or "?"


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of base with override merged in: nested mappings merge, other values replace."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_config(
    config: str | os.PathLike[str] | Mapping[str, Any] | Config | None = None,
    *,
    services: Sequence[ServiceSettings] = (),
) -> Config:
    """Build a Config from a path, a dict, or None (./config.yaml if present, else defaults).

    services: what each known service brings (schema, defaults, sections, checks); config itself
    knows none, so `murano_sim.load_config` (which hands in every discovered service) is the one
    to call. A services.<alias> section of a service not handed in must be a stand-in."""
    if isinstance(config, Config):
        return config
    given_text: str | None = None
    base_dir = Path.cwd()
    source = "built-in defaults"
    if config is None:
        if Path("config.yaml").is_file():
            config = "config.yaml"
        else:
            raw: Any = {}
    if isinstance(config, (str, os.PathLike)):
        path = Path(config)
        source = str(path)
        base_dir = path.resolve().parent
        text = yamlfile.read_text(path, what="config file")
        raw = yamlfile.parse(text, str(path)) or {}
        given_text = text
    elif isinstance(config, Mapping):
        raw = config
        source = "config dict"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: the top level must be a mapping")
    gate = _gate_for(source, given_text, services)
    expanded = substitute(raw, gate=gate)
    check_config(expanded, source, given_text, services)
    if gate is not None:
        gate.restrict_egress(expanded)
        gate.report(source)
    merged = merge(_defaults(services), expanded)
    _apply_env(merged, raw, services)
    _validate(merged, source, services)
    warnings = _env_warnings(raw, source, given_text) if given_text is not None else []
    return Config(data=merged, source=source, base_dir=base_dir, known=tuple(services), warnings=warnings)


def _env_warnings(raw: Mapping[str, Any], source: str, text: str) -> list[str]:
    """A warning per env value YAML did not read as text (`OWNER_PHONE: +15551230000` is an integer):
    Murano's env values are strings, so it becomes str(value), which may not be what was written."""
    env = raw.get("env")
    if not isinstance(env, Mapping) or all(isinstance(v, str) or v is None for v in env.values()):
        return []
    written = _scalars(yamlfile.compose(text, source), "env")
    found = []
    for name, value in env.items():
        if isinstance(value, str) or value is None or isinstance(value, (dict, list)):
            continue
        line, literal = written.get(str(name), (None, str(value)))
        kind = {bool: "true/false", int: "a number", float: "a number"}.get(type(value), type(value).__name__)
        became = str(value).lower() if isinstance(value, bool) else str(value)
        where = f"{source}:{line}" if line else source
        found.append(f"{where}: env.{name}: YAML reads {literal} as {kind}, so it becomes {became!r}; "
                     f"quote it to keep it as written: {name}: \"{literal}\"")
    return found


def _scalars(root: Any, section: str) -> dict[str, tuple[int, str]]:
    """key -> (line, the value as written) for the scalars of a top-level mapping section."""
    if not isinstance(root, yaml.MappingNode):
        return {}
    node = next((v for k, v in root.value if str(k.value) == section), None)
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): (k.start_mark.line + 1, str(v.value))
            for k, v in node.value if isinstance(v, yaml.ScalarNode)}


def _defaults(services: Sequence[ServiceSettings]) -> dict[str, Any]:
    """The built-in defaults with every handed-in service's own."""
    defaults = copy.deepcopy(DEFAULTS)
    for service in services:
        defaults["services"][service.alias] = copy.deepcopy(dict(service.defaults))
        for name, section in service.section_defaults.items():
            defaults[name] = copy.deepcopy(dict(section))
    return defaults


def _gate_for(source: str, text: str | None, services: Sequence[ServiceSettings]) -> Gate | None:
    """A Gate for a config file the CLI reads without consent; None when everything is allowed."""
    consent = active_consent()
    if consent is None or text is None or consent.trusts(Path(source), text):
        return None
    return Gate(consent, services)


def _apply_env(merged: dict[str, Any], raw: Mapping[str, Any], services: Sequence[ServiceSettings]) -> None:
    """A service's variables (ServiceSettings.env: key <- its one variable) fill its keys the file leaves out or
    leaves empty; with neither, the key keeps its default (the service's check may settle it)."""
    given_services = raw.get("services") if isinstance(raw.get("services"), Mapping) else {}
    for service in services:
        section = merged["services"].get(service.alias)
        given = given_services.get(service.alias) if isinstance(given_services, Mapping) else None
        if not isinstance(section, dict):
            continue
        given = given if isinstance(given, Mapping) else {}
        for key, var in service.env.items():
            if given.get(key) and section.get(key):
                section[key] = str(section[key])
            elif os.environ.get(var):
                section[key] = os.environ[var]


def _fail(source: str, where: str, message: str) -> ConfigError:
    return ConfigError(f"{source}: {where}: {message}")


def _validate(data: dict[str, Any], source: str, known: Sequence[ServiceSettings]) -> None:
    lua = data["lua"]
    if not isinstance(lua, dict):
        raise _fail(source, "lua", "must be a mapping")
    unknown = set(lua) - set(DEFAULTS["lua"])
    if unknown:
        raise _fail(source, f"lua.{sorted(unknown)[0]}", f"unknown key (known: {', '.join(DEFAULTS['lua'])})")
    for key, value in lua.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise _fail(source, f"lua.{key}", f"must be a positive number, got {value!r}")
        if key != "timeout_seconds":
            lua[key] = int(value)
    env = data["env"]
    if not isinstance(env, dict):
        raise _fail(source, "env", "must be a mapping of NAME: value")
    for name, value in list(env.items()):
        if isinstance(value, (dict, list)):
            raise _fail(source, f"env.{name}", "must be a scalar")
        env[str(name)] = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    services = data["services"]
    if not isinstance(services, dict):
        raise _fail(source, "services", "must be a mapping")
    serve = data["serve"]
    if not isinstance(serve, dict):
        raise _fail(source, "serve", "must be a mapping")
    max_body = serve.get("max_body_bytes")
    if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body < 0:
        raise _fail(source, "serve.max_body_bytes", f"must be a whole number of bytes, got {max_body!r}")
    for service in known:
        section = services.get(service.alias)
        if not isinstance(section, dict):
            raise _fail(source, f"services.{service.alias}", "must be a mapping")
        own: dict[str, dict[str, Any]] = {}
        for name in service.sections:
            if not isinstance(data.get(name), dict):
                raise _fail(source, name, "must be a mapping")
            own[name] = data[name]
        if service.check is not None:
            service.check(section, own, source)


def check_live_credentials(config: Config) -> None:
    """Before a live backend is used: each service says what is wrong with its credentials (never their value)."""
    for service in config.known:
        section = config.services.get(service.alias)
        if service.check_live is not None and isinstance(section, dict):
            service.check_live(section, f"{config.source}: services.{service.alias}")
