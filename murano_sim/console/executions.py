"""The console's record of executions (a bounded list) and the live feed (Server-Sent Events)."""

from __future__ import annotations

import collections
import itertools
import json
import queue
import re
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from ..config import redact
from ..solution.app import Execution

MAX_EXECUTIONS = 500  # the console keeps the most recent ones
_LEVEL = re.compile(r"^\[(debug|info|warn|error)\][\t ]?")
# "endpoints/x.lua:12: message" or '[string "x.lua"]:12:'
_WHERE = re.compile(r"([\w./-]+\.lua)\"?\]?:(\d+):")


def kind_of(service: str, event: str) -> str:
    if service == "webservice":
        return "endpoint"
    if service == "timer":
        return "timer"
    return "event"


def log_entry(line: str) -> dict[str, str]:
    """A script's output line with its level: log.warn(...) prints "[warn]\t...", print() is "print"."""
    found = _LEVEL.match(line)
    if found is None:
        return {"level": "print", "text": line}
    return {"level": found.group(1), "text": line[found.end():]}


def error_location(error: str | None) -> dict[str, Any] | None:
    found = _WHERE.search(error or "")
    return {"file": found.group(1), "line": int(found.group(2))} if found else None


class Executions:
    """Every execution the solution ran (newest last), redacted, and the subscribers to new ones."""

    def __init__(self, secrets: Iterable[str] = (), limit: int = MAX_EXECUTIONS) -> None:
        self._secrets = list(secrets)
        self._items: collections.deque[dict[str, Any]] = collections.deque(maxlen=limit)
        self._ids = itertools.count(1)
        self._last = 0
        self._lock = threading.Lock()
        self._subscribers: list[queue.SimpleQueue[str | None]] = []

    def add(self, execution: Execution) -> dict[str, Any]:
        result = execution.result
        record = {
            "kind": kind_of(execution.service, execution.event),
            "service": execution.service,
            "event": execution.event,
            "file": execution.file,
            "at": execution.started_at.isoformat(timespec="milliseconds"),
            "duration_ms": round(execution.duration_ms, 3),
            "status": result.response.code,
            "request": execution.http,
            "parameters": execution.parameters,
            "response": {
                "code": result.response.code, "headers": dict(result.response.headers),
                "body": result.response.message,
            },
            "logs": [log_entry(line) for line in result.logs],
            "calls": list(result.calls),
            "error": result.error,
            "error_location": error_location(result.error),
        }
        # Redact the serialised form, as the solution log does: nothing configured as a secret leaves.
        safe = json.loads(redact(json.dumps(record, default=str), self._secrets))
        with self._lock:
            safe["id"] = self._last = next(self._ids)
            self._items.append(safe)
        self.publish("execution", summary(safe))
        return safe

    def list(self, since: int = 0, *, text: str | None = None, kind: str | None = None,
             level: str | None = None) -> list[dict[str, Any]]:
        """Summaries of the executions after `since`; text: found anywhere in the execution (request,
        logs, calls, response; case-insensitive); kind: endpoint, event or timer; level: warn (warnings
        and errors) or error."""
        with self._lock:
            items = [item for item in self._items if item["id"] > since]
        if kind:
            items = [item for item in items if item["kind"] == kind]
        if level:
            floor = LEVELS.index(level) if level in LEVELS else 0
            items = [item for item in items if LEVELS.index(level_of(item)) >= floor]
        if text:
            needle = text.lower()
            items = [item for item in items if needle in json.dumps(item, ensure_ascii=False).lower()]
        return [summary(item) for item in items]

    def get(self, execution_id: int) -> dict[str, Any] | None:
        with self._lock:
            return next((item for item in self._items if item["id"] == execution_id), None)

    def clear(self) -> None:
        """Forget every execution (ids go on counting, so a page's `since` stays right)."""
        with self._lock:
            self._items.clear()

    def last_id(self) -> int:
        with self._lock:
            return self._last

    # -- the live feed --------------------------------------------------------------------------
    def publish(self, event: str, data: Any) -> None:
        message = f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n"
        with self._lock:
            for subscriber in self._subscribers:
                subscriber.put(message)

    def stream(self, keepalive: float = 15.0) -> Iterator[str]:
        """Server-Sent Events until close(): each execution as it ends, and a comment line now and
        then so that a proxy or the browser does not drop an idle connection."""
        subscriber: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        with self._lock:
            self._subscribers.append(subscriber)
        try:
            yield ": connected\n\n"
            while True:
                try:
                    message = subscriber.get(timeout=keepalive)
                except queue.Empty:
                    yield ": keepalive\n\n"
                    continue
                if message is None:
                    return
                yield message
        finally:
            with self._lock:
                self._subscribers.remove(subscriber)

    def close(self) -> None:
        """End every open stream (the server is stopping)."""
        with self._lock:
            for subscriber in self._subscribers:
                subscriber.put(None)


LEVELS = ("info", "warn", "error")  # an execution's level, the console's filter


def level_of(record: dict[str, Any]) -> str:
    """error: the script failed, answered 5xx or logged an error; warn: it logged a warning or answered 4xx."""
    logged = {entry["level"] for entry in record.get("logs") or []}
    status = record.get("status")
    if record.get("error") or "error" in logged or (isinstance(status, int) and status >= 500):
        return "error"
    if "warn" in logged or (isinstance(status, int) and status >= 400):
        return "warn"
    return "info"


def summary(record: dict[str, Any]) -> dict[str, Any]:
    """What the list shows for one execution."""
    request = record.get("request") or {}
    return {
        "id": record["id"], "kind": record["kind"], "service": record["service"], "event": record["event"],
        "path": request.get("path"), "method": request.get("method"), "at": record["at"],
        "duration_ms": record["duration_ms"], "status": record["status"], "error": record["error"],
        "calls": len(record["calls"]), "logs": len(record["logs"]), "level": level_of(record),
    }
