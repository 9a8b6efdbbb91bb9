"""The emulator's settings as one value: what `services.twilio` and the `emulator` section say.

settings.py builds it from a loaded config; the Emulator and its server take it handed in and never
read config themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str = ""  # the primary account (services.twilio.AccountSid)
    auth_token: str = ""
    accounts: tuple[Mapping[str, Any], ...] = ()  # emulator.accounts: more accounts, {AccountSid, AuthToken, test}
    magic_numbers: str = "all"  # "all" or "test" (only test accounts honour Twilio's magic numbers)
    numbers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # emulator.numbers: rules per number
    owned_numbers: tuple[str, ...] = ()
    allow_hosts: tuple[str, ...] = ()  # webhook hosts besides loopback
    call_duration: int = 5
    max_records: int = 10_000
    seed: Any = None  # emulator.seed: records (a list) or a YAML/JSON file
    base_dir: Path = Path(".")  # where a relative seed file is
    source: str = "<settings>"  # the config file, for messages
    control_remote: bool = False  # the standalone server's /_emulator/ answers non-loopback clients
    demo_credentials: bool = False  # account_sid/auth_token are the built-in demo ones (not secrets)
    config: Any = None  # the loaded Config these came from (Emulator.config), None when built by hand
