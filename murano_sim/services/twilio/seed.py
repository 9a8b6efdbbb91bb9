"""Seed records from config.emulator.seed: a mapping {messages: [...], calls: [...]} or a path to
a YAML/JSON file of that shape (relative to the config file's folder)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from ...config import yamlfile
from ...errors import ConfigError
from . import models
from .backend import TwilioBackend
from .models import Call, Message, new_sid, segments_for

_SENT = {"sent", "delivered", "undelivered", "received", "read", "partially_delivered"}


def load_seed(seed: Any, base_dir: Path) -> dict[str, list[dict[str, Any]]]:
    if seed is None:
        return {"messages": [], "calls": []}
    where = "emulator.seed"
    if isinstance(seed, (str, Path)):
        path = Path(seed) if Path(seed).is_absolute() else base_dir / seed
        where = f"emulator.seed ({path})"
        seed = yamlfile.load(path, f"emulator.seed: {path}", what="seed file") or {}
    if not isinstance(seed, Mapping):
        raise ConfigError(f"{where}: must be a mapping with 'messages' and/or 'calls' lists")
    unknown = set(seed) - {"messages", "calls"}
    if unknown:
        raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r} (known: messages, calls)")
    out: dict[str, list[dict[str, Any]]] = {}
    for key in ("messages", "calls"):
        items = seed.get(key) or []
        if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
            raise ConfigError(f"{where}: {key} must be a list of mappings")
        out[key] = [dict(i) for i in items]
    return out


def _when(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    text = str(value)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: not a date: {text!r} (use ISO 8601 or RFC 2822)") from None
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def _need(item: Mapping[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if value in (None, ""):
        raise ConfigError(f"{where}: {key} is required")
    return str(value)


def seed_source(seed: Any, base_dir: Path, config_source: str) -> str:
    """The file a seed's records come from, for error messages: the seed file, else the config."""
    if isinstance(seed, (str, Path)):
        return str(Path(seed) if Path(seed).is_absolute() else base_dir / seed)
    return config_source


def seed_backend(backend: TwilioBackend, account_sid: str, seed: dict[str, list[dict[str, Any]]],
                 default_duration: int, source: str = "emulator.seed") -> None:
    now = backend.clock.now()
    for i, item in enumerate(seed["messages"]):
        where = f"{source}: messages[{i}]"
        media = item.get("MediaUrl") or []
        media = [media] if isinstance(media, str) else [str(u) for u in media]
        body = str(item.get("Body") or "")
        if not body and not media:
            raise ConfigError(f"{where}: Body or MediaUrl is required")
        status = str(item.get("Status") or "delivered")
        if status not in models.MESSAGE_STATUSES:
            raise ConfigError(f"{where}: Status {status!r} is not a Twilio message status")
        direction = str(item.get("Direction") or ("inbound" if status == "received" else "outbound-api"))
        created = _when(item.get("DateCreated"), where) or now
        message = Message(
            sid=new_sid("MM" if media else "SM"), account_sid=account_sid, to=_need(item, "To", where),
            from_=_need(item, "From", where), body=body, status=status, direction=direction,
            date_created=created, date_updated=created,
            date_sent=_when(item.get("DateSent"), where) or (created if status in _SENT else None),
            num_segments=segments_for(body), num_media=len(media),
        )
        if status in _SENT:
            message.price = models.message_price(message)
        backend.add_seeded(message, media)
    for i, item in enumerate(seed["calls"]):
        where = f"{source}: calls[{i}]"
        status = str(item.get("Status") or "completed")
        if status not in models.CALL_STATUSES:
            raise ConfigError(f"{where}: Status {status!r} is not a Twilio call status")
        try:
            duration = int(item.get("Duration", default_duration))
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: Duration must be a number of seconds") from None
        start = _when(item.get("StartTime"), where)
        ended = status in ("completed", "failed", "busy", "no-answer", "canceled")
        if start is None and status in ("completed", "in-progress"):
            start = now - timedelta(seconds=duration if ended else 0)
        created = _when(item.get("DateCreated"), where) or (start - timedelta(seconds=3) if start else now)
        call = Call(
            sid=new_sid("CA"), account_sid=account_sid, to=_need(item, "To", where), from_=_need(item, "From", where),
            status=status, direction=str(item.get("Direction") or "outbound-api"), date_created=created,
            date_updated=now, start_time=start, planned_duration=duration,
            parent_call_sid=item.get("ParentCallSid"),
        )
        if ended:
            call.end_time = start + timedelta(seconds=duration) if start else now
            call.duration = duration if status == "completed" else 0
            call.price = models.call_price(duration) if status == "completed" else None
        backend.add_seeded(call)
