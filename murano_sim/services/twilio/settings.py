"""Twilio's configuration: the defaults of `services.twilio`, the top-level `emulator` section it
owns (schema and defaults), the TWILIO_* variables that may fill its credentials, and the checks
beyond the schema (number rules, live credentials), handed to config through the PLUGIN; and the
emulator's settings (TwilioSettings, options.py) read from a loaded config."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from ...config import Config
from ...errors import ConfigError
from ...net.hosts import is_allowed_host
from ..settings import load_config
from .options import TwilioSettings

# Credentials that only the local emulator accepts: a fresh checkout runs with no account.
DEMO_ACCOUNT_SID = "ACdeadbeefdeadbeefdeadbeefdeadbeef"
DEMO_AUTH_TOKEN = "murano-sim-demo-token-local-only"
LIVE_BASE_URL = "https://api.twilio.com"

DEFAULTS: dict[str, Any] = {
    "backend": "local",
    "base_url": LIVE_BASE_URL,
    "AccountSid": DEMO_ACCOUNT_SID,
    "AuthToken": DEMO_AUTH_TOKEN,
    "timeout_seconds": 10,
    "retries": 3,  # GET/DELETE retries (POST only when certainly not processed)
    "backoff_seconds": 0.2,  # first retry delay; doubles each time, capped at 2 s
}
EMULATOR_DEFAULTS: dict[str, Any] = {
    "accounts": [],
    "owned_numbers": [],
    "allow_hosts": [],
    "seed": None,
    "call_duration": 5,
    "max_records": 10_000,  # in-process store cap; final-state records are evicted oldest first
    "numbers": {},  # E.164 -> how the network treats it (outcomes) and where its traffic goes
    "magic_numbers": "all",  # or test-accounts: Twilio's magic numbers only for test credentials
    "control_remote": False,  # the standalone emulator's /_emulator/ answers non-loopback clients
}
SettingsSource = TwilioSettings | Config | Mapping[str, Any] | str | os.PathLike[str] | None

# The only variables that may fill the credentials (also in an untrusted config file, there only).
ENV = {"AccountSid": "TWILIO_ACCOUNT_SID", "AuthToken": "TWILIO_AUTH_TOKEN"}

_STRINGS = {"type": "array", "items": {"type": "string"}}
EMULATOR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "accounts": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["AccountSid", "AuthToken"],
            "properties": {"AccountSid": {"type": "string"}, "AuthToken": {"type": "string"},
                           "test": {"type": "boolean"}}}},
        "owned_numbers": _STRINGS,
        "allow_hosts": _STRINGS,
        "seed": {"type": ["object", "string", "null"]},
        "call_duration": {"type": "integer", "minimum": 0},
        "max_records": {"type": "integer", "exclusiveMinimum": 0},
        "numbers": {
            "type": ["object", "null"],
            "propertyNames": {"pattern": r"^\+[1-9]\d{1,14}$"},
            "additionalProperties": {
                "type": "object", "additionalProperties": False,
                "properties": {
                    "sms": {"enum": ["delivered", "undelivered", "failed"]},
                    "error_code": {"type": "integer", "minimum": 1},
                    "call": {"enum": ["completed", "busy", "no-answer", "failed", "canceled"]},
                    "answered_by": {"enum": ["human", "machine_start", "machine_end_beep", "machine_end_silence",
                                             "machine_end_other", "fax", "unknown"]},
                    "sms_url": {"type": "string"}, "sms_method": {"enum": ["GET", "POST"]},
                    "voice_url": {"type": "string"}, "voice_method": {"enum": ["GET", "POST"]},
                },
            },
        },
        "magic_numbers": {"enum": ["all", "test-accounts"]},
        "control_remote": {"type": "boolean"},
    },
}


def is_local_emulator(twilio: Mapping[str, Any]) -> bool:
    """backend: live pointed at a loopback URL: a `murano-sim twilio-emulator` shared between
    processes, which accepts the demonstration credentials (they are not secrets)."""
    return twilio.get("backend") == "live" and is_allowed_host(str(twilio.get("base_url") or ""))


def _fail(source: str, where: str, message: str) -> ConfigError:
    return ConfigError(f"{source}: {where}: {message}")


def check(twilio: dict[str, Any], sections: Mapping[str, dict[str, Any]], source: str) -> None:
    """services.twilio and the emulator section beyond the schema (a dict config skips no check)."""
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
    # Credentials neither the file nor TWILIO_* gave: the demonstration ones for the local emulator;
    # none for the real Twilio (they mean nothing there), so that check_live says what is missing.
    demo = twilio["backend"] == "local" or is_local_emulator(twilio)
    for key in ENV:
        value = twilio.get(key)
        if not value or (value == DEFAULTS[key] and not demo):
            twilio[key] = DEFAULTS[key] if demo else ""
        else:
            twilio[key] = str(value)
    _check_emulator(sections["emulator"], source)


def _check_emulator(emulator: dict[str, Any], source: str) -> None:
    for key in ("accounts", "owned_numbers", "allow_hosts"):
        if not isinstance(emulator.get(key) or [], list):
            raise _fail(source, f"emulator.{key}", "must be a list")
    duration = emulator.get("call_duration")
    if isinstance(duration, bool) or not isinstance(duration, int) or duration < 0:
        raise _fail(source, "emulator.call_duration", f"must be a whole number of seconds, got {duration!r}")
    max_records = emulator.get("max_records")
    if isinstance(max_records, bool) or not isinstance(max_records, int) or max_records < 1:
        raise _fail(source, "emulator.max_records", f"must be a whole number of at least 1, got {max_records!r}")
    for i, account in enumerate(emulator.get("accounts") or []):
        if not isinstance(account, dict) or not account.get("AccountSid") or not account.get("AuthToken"):
            raise _fail(source, f"emulator.accounts[{i}]", "needs AccountSid and AuthToken")
    numbers = emulator.get("numbers") or {}
    if not isinstance(numbers, dict):
        raise _fail(source, "emulator.numbers", "must be a mapping of E.164 numbers to rules")
    for number, rule in numbers.items():
        if not isinstance(rule, dict):
            raise _fail(source, f"emulator.numbers.{number}", "must be a mapping (sms, call, answered_by, ...)")
        try:
            from .models import number_rule  # the emulator's models: imported only when numbers are configured

            number_rule(number, rule, from_config=True)
        except ValueError as exc:
            raise _fail(source, "emulator", str(exc)) from None
    if emulator.get("magic_numbers") not in ("all", "test-accounts"):
        magic = emulator.get("magic_numbers")
        raise _fail(source, "emulator.magic_numbers", f"must be all or test-accounts, got {magic!r}")


_LIVE_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_LIVE_TOKEN = re.compile(r"^[0-9a-fA-F]{32}$")


def check_live(twilio: Mapping[str, Any], where: str) -> None:
    """Live mode needs a real-looking Account SID and Auth Token; say which is wrong, never its value."""
    if twilio.get("backend") != "live":
        return
    sid, token = twilio.get("AccountSid") or "", twilio.get("AuthToken") or ""
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


def from_config(config: Config | Mapping[str, Any] | str | os.PathLike[str] | None = None) -> TwilioSettings:
    """The emulator's settings from a config (loaded here when given as a mapping, a path or None)."""
    cfg = load_config(config)
    twilio, emulator = cfg.services["twilio"], cfg.section("emulator")
    sid, token = str(twilio.get("AccountSid") or ""), str(twilio.get("AuthToken") or "")
    return TwilioSettings(
        account_sid=sid, auth_token=token,
        accounts=tuple(dict(a) for a in emulator.get("accounts") or []),
        magic_numbers=str(emulator.get("magic_numbers") or "all"),
        numbers=dict(emulator.get("numbers") or {}),
        owned_numbers=tuple(str(n) for n in emulator.get("owned_numbers") or []),
        allow_hosts=tuple(str(h) for h in emulator.get("allow_hosts") or []),
        call_duration=int(emulator.get("call_duration", 5)),
        max_records=int(emulator.get("max_records", 10_000)),
        seed=emulator.get("seed"), base_dir=cfg.base_dir, source=str(cfg.source),
        control_remote=bool(emulator.get("control_remote")),
        demo_credentials=(sid, token) == (DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN),
        config=cfg,
    )


def as_settings(source: SettingsSource) -> TwilioSettings:
    """Settings as given, or built from a config."""
    return source if isinstance(source, TwilioSettings) else from_config(source)
