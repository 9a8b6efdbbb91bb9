"""The solution log: per script run, a script record and one record per service call (Murano's shape).

Text mode prints a readable block per request; JSON mode one JSON object per line. Every line
is redacted with the configured secrets before it is written.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any, TextIO

from ..config import redact
from ..runtime.result import ScriptResult


def script_records(
    result: ScriptResult,
    *,
    service: str,
    event: str,
    parameters: Any,
    request_id: str,
    execution_time_ms: float,
    file: str | None = None,
) -> list[dict[str, Any]]:
    """The records one run produces: the script log first, then its service-call log."""
    stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    records: list[dict[str, Any]] = [
        {
            "type": "script",
            "timestamp": stamp,
            "request_id": request_id,
            "service": service,
            "event": event,
            "file": file,
            "parameters": parameters,
            "status": result.response.code,
            "execution_time_ms": round(execution_time_ms, 3),
            "script_output": list(result.logs),
            "error": result.error,
            **({"error_at": result.error_at} if result.error_at else {}),
        }
    ]
    for call in result.calls:
        record = {
            "type": "service_call",
            "timestamp": stamp,
            "request_id": request_id,
            "service_alias": call.get("service"),
            "function_call": call.get("operation"),
            "arguments": call.get("arguments"),
            "status": call.get("status"),
            "execution_time_ms": call.get("duration_ms"),
        }
        if "error" in call:
            record["error"] = call["error"]
        else:
            record["result"] = call.get("result")
        records.append(record)
    return records


def render_text(record: dict[str, Any]) -> str:
    """One record as console text (a script record may span several lines)."""
    if record.get("type") == "script":
        lines = [
            f"{record['timestamp']} [{record['service']}] {record['event']} -> {record['status']} "
            f"({record['execution_time_ms']:.1f} ms) parameters={_compact(record['parameters'])} "
            f"request_id={record['request_id']}"
        ]
        lines += [f"  | {line}" for line in record.get("script_output") or []]
        if record.get("error"):
            at = f" (running {record['error_at']})" if record.get("error_at") else ""
            lines.append(f"  ! error: {record['error']}{at}")
        return "\n".join(lines)
    if record.get("type") == "service_call":
        outcome = f" error={_compact(record['error'])}" if "error" in record else ""
        return (
            f"  > call {record['service_alias']}.{record['function_call']} -> {record['status']} "
            f"({_number(record.get('execution_time_ms'))} ms) arguments={_compact(record['arguments'])}{outcome}"
        )
    return f"{record.get('timestamp', '')} {record.get('message', _compact(record))}".strip()


# One encoder for every record (encode is thread-safe): json.dumps with options builds a new one per call,
# which cost about as much as the encoding of a run's small records.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


def _compact(value: Any) -> str:
    return _ENCODER.encode(value)


def _number(value: Any) -> str:
    return f"{value:.1f}" if isinstance(value, (int, float)) else "?"


# `murano-sim -q` sets it to ERROR (commandline/conventions.py); the library leaves it unset.
_LOUDNESS = logging.getLogger("murano_sim")


class SolutionLog:
    """Writes records to a stream (stdout by default) and hands them to listeners, thread-safely."""

    def __init__(self, stream: TextIO | None = None, *, json_lines: bool = False, secrets: Iterable[str] = ()) -> None:
        self._stream = stream
        self.json_lines = json_lines
        self._secrets = list(secrets)
        self._lock = threading.Lock()
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        # Called once per write with all its records (a run's script record, then its calls).
        self.batch_listeners: list[Callable[[list[dict[str, Any]]], None]] = []
        # Called once per write with its records as one redacted JSON array and their count: what a
        # listener that reads the records later keeps (the log store decodes them when read).
        self.text_listeners: list[Callable[[str, int], None]] = []

    def write(self, records: Iterable[dict[str, Any]]) -> None:
        # Redact the serialised form, so listeners and both output modes see the same safe records: the
        # batch dumped once (JSON lines: each record, its line), loaded back only for listeners that
        # take dicts (JSON-safe copies).
        records = list(records)
        secrets = self._secrets
        lines = [redact(_compact(record), secrets) for record in records] if self.json_lines else []
        copies = bool(self.listeners or self.batch_listeners)
        batch = ""
        if self.json_lines:
            batch = f"[{','.join(lines)}]"
        elif copies or self.text_listeners:
            batch = redact(_compact(records), secrets)
        if copies:
            safe: list[dict[str, Any]] = json.loads(batch)
            for listener in self.listeners:
                for record in safe:
                    listener(record)
            for batch_listener in self.batch_listeners:
                batch_listener(safe)
        for text_listener in self.text_listeners:
            text_listener(batch, len(records))
        if self.json_lines:  # a JSON line has no raw newline (dumps escapes them): the lines joined are the output
            text = "\n".join(lines)
        else:  # rendered from the records as given, then redacted as a whole (each secret as JSON writes it too)
            text = redact("\n".join(render_text(record) for record in records), secrets)
        stream = self._stream or sys.stdout
        with self._lock:
            try:
                stream.write(text + "\n")
                stream.flush()
            except (OSError, ValueError):  # a closed console must not fail the request
                pass

    def message(self, message: str, **fields: Any) -> None:
        """A record that is not a script run: reloads, load errors, startup notes (only errors under -q)."""
        if "error" not in fields and _LOUDNESS.level >= logging.ERROR:
            return
        stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        self.write([{"type": "server", "timestamp": stamp, "message": message, **fields}])
