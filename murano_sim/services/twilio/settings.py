"""Twilio's settings from murano-sim's config: the `services.twilio` and `emulator` sections."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ...config import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, Config, load_config
from .options import TwilioSettings

SettingsSource = TwilioSettings | Config | Mapping[str, Any] | str | os.PathLike[str] | None


def from_config(config: Config | Mapping[str, Any] | str | os.PathLike[str] | None = None) -> TwilioSettings:
    """The emulator's settings from a config (loaded here when given as a mapping, a path or None)."""
    cfg = load_config(config)
    twilio, emulator = cfg.services["twilio"], cfg.emulator
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
