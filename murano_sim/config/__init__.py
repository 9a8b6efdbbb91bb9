"""config.yaml: loading, ${VAR} substitution, defaults, validation and secret redaction."""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigError
from ..net.hosts import is_loopback_host, unambiguous_host
from . import yamlfile
from .trust import HOW_TO_ALLOW, Consent
from .trust import active as active_consent

# Credentials that only the local emulator accepts: a fresh checkout runs with no account.
DEMO_ACCOUNT_SID = "ACdeadbeefdeadbeefdeadbeefdeadbeef"
DEMO_AUTH_TOKEN = "murano-sim-demo-token-local-only"

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
    "services": {
        "twilio": {
            "backend": "local",
            "base_url": "https://api.twilio.com",
            "AccountSid": DEMO_ACCOUNT_SID,
            "AuthToken": DEMO_AUTH_TOKEN,
            "timeout_seconds": 10,
            "retries": 3,  # GET/DELETE retries (POST only when certainly not processed)
            "backoff_seconds": 0.2,  # first retry delay; doubles each time, capped at 2 s
        }
    },
    "emulator": {
        "accounts": [],
        "owned_numbers": [],
        "allow_hosts": [],
        "seed": None,
        "call_duration": 5,
        "max_records": 10_000,  # in-process store cap; final-state records are evicted oldest first
        "numbers": {},  # E.164 -> how the network treats it (outcomes) and where its traffic goes
        "magic_numbers": "all",  # or test-accounts: Twilio's magic numbers only for test credentials
        "control_remote": False,  # the standalone emulator's /_emulator/ answers non-loopback clients
    },
    "serve": {
        "max_body_bytes": 10 * 1024 * 1024,  # request bodies above it get 413
        # Values a served endpoint's --#SECURITY credential must match (opt-in; empty: presence only).
        "security": {"basic": [], "bearer": [], "apiKey": []},
    },
}

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
# The Twilio keys where TWILIO_* variables belong (as TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN also fill them).
_TWILIO_CREDENTIALS = {("AccountSid",), ("AuthToken",)}
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

    @property
    def emulator(self) -> dict[str, Any]:
        return self.data["emulator"]

    def secrets(self) -> list[str]:
        """Every secret value in the config, longest first (for redaction)."""
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


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret in text by a fixed marker."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[REDACTED]")
    return text


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
    murano-sim's own variables, each where it belongs, and loopback; the user's own file may add more.
    Every refusal is collected for one line on stderr."""

    def __init__(self, consent: Consent) -> None:
        self.consent = consent
        self.refused: list[str] = []

    def may_read(self, name: str, where: tuple[str, ...]) -> bool:
        own = name.startswith("MURANO_SIM_") or (
            name.startswith("TWILIO_") and where[:2] == ("services", "twilio") and where[2:] in _TWILIO_CREDENTIALS
        )
        if own or name in self.consent.variables:
            return True
        self._refuse(f"${{{name}}} in {'.'.join(where) or '(top level)'}")
        return False

    def may_reach(self, host: str | None) -> bool:
        """Loopback (or no network host at all, as a unix socket), or a host the user allows."""
        if host is None:
            return True
        return is_loopback_host(host) or host.lower() in self.consent.hosts

    def _refuse(self, what: str) -> None:
        if what not in self.refused:
            self.refused.append(what)

    def restrict_egress(self, data: dict[str, Any]) -> None:
        """Drop every setting of the file that sends data beyond loopback to a host not allowed."""
        services: dict[str, Any] = data["services"] if isinstance(data.get("services"), dict) else {}
        for where, section in (("services.http", services.get("http")), ("services.email", services.get("email")),
                               ("emulator", data.get("emulator"))):
            if isinstance(section, dict) and isinstance(section.get("allow_hosts"), list):
                hosts = section["allow_hosts"]
                section["allow_hosts"] = [h for h in hosts if isinstance(h, str) and self.may_reach(h)]
                if section["allow_hosts"] != hosts:
                    self._refuse(f"{where}.allow_hosts")
        keystore = services.get("keystore")
        if isinstance(keystore, dict) and keystore.get("url") and not self.may_reach(_url_host(keystore["url"])):
            del keystore["url"]  # the in-process Keystore instead of a remote Redis
            self._refuse("services.keystore.url")
        twilio = services.get("twilio")
        if isinstance(twilio, dict) and twilio.get("backend") == "live":
            base_url = str(twilio.get("base_url") or DEFAULTS["services"]["twilio"]["base_url"])
            if not self.may_reach(unambiguous_host(base_url) or "?"):
                twilio["backend"] = "local"  # the in-process emulator instead of the real Twilio
                self._refuse("services.twilio.backend: live")

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
    config: str | os.PathLike[str] | Mapping[str, Any] | Config | None = None, *, extra_specs: Sequence[Any] = ()
) -> Config:
    """Build a Config from a path, a dict, or None (./config.yaml if present, else defaults).

    extra_specs: ServiceSpecs besides the shipped ones, whose services.<alias> sections are then known."""
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
    from .schema import check_config

    gate = _gate_for(source, given_text)
    expanded = substitute(raw, gate=gate)
    check_config(expanded, source, given_text, extra_specs)
    if gate is not None:
        gate.restrict_egress(expanded)
        gate.report(source)
    merged = merge(DEFAULTS, expanded)
    _apply_standard_env(merged, raw)
    _validate(merged, source)
    return Config(data=merged, source=source, base_dir=base_dir)


def _gate_for(source: str, text: str | None) -> Gate | None:
    """A Gate for a config file the CLI reads without consent; None when everything is allowed."""
    consent = active_consent()
    if consent is None or text is None or consent.trusts(Path(source), text):
        return None
    return Gate(consent)


def _apply_standard_env(merged: dict[str, Any], raw: Mapping[str, Any]) -> None:
    """TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN fill Twilio keys the file leaves out or leaves empty.

    With neither, the local backend keeps the demonstration credentials; live mode is left
    empty so that check_live_credentials can say what is missing.
    """
    given = ((raw.get("services") or {}).get("twilio") or {}) if isinstance(raw.get("services"), Mapping) else {}
    twilio = merged["services"]["twilio"]
    if not isinstance(twilio, dict):
        return
    for key, var, demo in (
        ("AccountSid", "TWILIO_ACCOUNT_SID", DEMO_ACCOUNT_SID),
        ("AuthToken", "TWILIO_AUTH_TOKEN", DEMO_AUTH_TOKEN),
    ):
        if given.get(key) and twilio.get(key):
            twilio[key] = str(twilio[key])
        elif os.environ.get(var):
            twilio[key] = os.environ[var]
        else:
            twilio[key] = demo if twilio.get("backend", "local") == "local" or is_local_emulator(twilio) else ""


def is_local_emulator(twilio: Mapping[str, Any]) -> bool:
    """backend: live pointed at a loopback URL: a `murano-sim twilio-emulator` shared between
    processes, which accepts the demonstration credentials (they are not secrets)."""
    from ..services.twilio.webhooks import is_allowed_host  # here: the emulator imports this module

    return twilio.get("backend") == "live" and is_allowed_host(str(twilio.get("base_url") or ""))


def _fail(source: str, where: str, message: str) -> ConfigError:
    return ConfigError(f"{source}: {where}: {message}")


def _validate(data: dict[str, Any], source: str) -> None:
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
    twilio = services.get("twilio")
    if not isinstance(twilio, dict):
        raise _fail(source, "services.twilio", "must be a mapping")
    if twilio.get("backend") not in ("local", "live"):
        raise _fail(source, "services.twilio.backend", f"must be 'local' or 'live', got {twilio.get('backend')!r}")
    timeout = twilio.get("timeout_seconds")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 300:
        raise _fail(source, "services.twilio.timeout_seconds", f"must be a number of seconds, got {timeout!r}")
    retries = twilio.get("retries")
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
        raise _fail(source, "services.twilio.retries", f"must be a whole number from 0 to 10, got {retries!r}")
    backoff = twilio.get("backoff_seconds")
    if isinstance(backoff, bool) or not isinstance(backoff, (int, float)) or not 0 <= backoff <= 10:
        raise _fail(source, "services.twilio.backoff_seconds", f"must be from 0 to 10 seconds, got {backoff!r}")
    if not isinstance(twilio.get("base_url"), str) or not re.match(r"https?://", twilio["base_url"]):
        raise _fail(source, "services.twilio.base_url", "must be an http:// or https:// URL")
    emulator = data["emulator"]
    if not isinstance(emulator, dict):
        raise _fail(source, "emulator", "must be a mapping")
    for key in ("accounts", "owned_numbers", "allow_hosts"):
        if not isinstance(emulator.get(key) or [], list):
            raise _fail(source, f"emulator.{key}", "must be a list")
    duration = emulator.get("call_duration")
    if isinstance(duration, bool) or not isinstance(duration, int) or duration < 0:
        raise _fail(source, "emulator.call_duration", f"must be a whole number of seconds, got {duration!r}")
    max_records = emulator.get("max_records")
    if isinstance(max_records, bool) or not isinstance(max_records, int) or max_records < 1:
        raise _fail(source, "emulator.max_records", f"must be a whole number of at least 1, got {max_records!r}")
    serve = data["serve"]
    if not isinstance(serve, dict):
        raise _fail(source, "serve", "must be a mapping")
    max_body = serve.get("max_body_bytes")
    if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body < 0:
        raise _fail(source, "serve.max_body_bytes", f"must be a whole number of bytes, got {max_body!r}")
    for i, account in enumerate(emulator.get("accounts") or []):
        if not isinstance(account, dict) or not account.get("AccountSid") or not account.get("AuthToken"):
            raise _fail(source, f"emulator.accounts[{i}]", "needs AccountSid and AuthToken")
    from ..services.twilio.models import number_rule

    numbers = emulator.get("numbers") or {}
    if not isinstance(numbers, dict):
        raise _fail(source, "emulator.numbers", "must be a mapping of E.164 numbers to rules")
    for number, rule in numbers.items():
        if not isinstance(rule, dict):
            raise _fail(source, f"emulator.numbers.{number}", "must be a mapping (sms, call, answered_by, ...)")
        try:
            number_rule(number, rule, from_config=True)
        except ValueError as exc:
            raise _fail(source, "emulator", str(exc)) from None
    if emulator.get("magic_numbers") not in ("all", "test-accounts"):
        magic = emulator.get("magic_numbers")
        raise _fail(source, "emulator.magic_numbers", f"must be all or test-accounts, got {magic!r}")


_LIVE_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_LIVE_TOKEN = re.compile(r"^[0-9a-fA-F]{32}$")


def check_live_credentials(config: Config) -> None:
    """Live mode needs a real-looking Account SID and Auth Token; say which is wrong, never its value."""
    twilio = config.services["twilio"]
    if twilio["backend"] != "live":
        return
    sid, token = twilio.get("AccountSid") or "", twilio.get("AuthToken") or ""
    where = f"{config.source}: services.twilio"
    if not sid:
        raise ConfigError(f"{where}.AccountSid is missing (set it or TWILIO_ACCOUNT_SID) for backend: live")
    if is_local_emulator(twilio) and sid and token:
        return  # an emulator on this machine: it says itself whether it knows the credentials
    if not _LIVE_SID.match(str(sid)):
        raise ConfigError(f"{where}.AccountSid is malformed: expected AC followed by 32 hex digits")
    if not token:
        raise ConfigError(f"{where}.AuthToken is missing (set it or TWILIO_AUTH_TOKEN) for backend: live")
    if not _LIVE_TOKEN.match(str(token)):
        raise ConfigError(f"{where}.AuthToken is malformed: expected 32 hex digits")
