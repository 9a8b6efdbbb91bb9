"""Runtime.run(script, request=...) -> ScriptResult: the public way to run a Murano script."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .backend import Backend, open_backend
from .config import Config, load_config, redact
from .errors import UsageError
from .lua.vm import Context, LuaVM, Outcome, ServiceBinding
from .result import Response, ScriptResult


class Runtime:
    """A reusable, sandboxed Murano script runner.

    One Lua VM is shared by every run; each run gets a fresh environment. A Runtime is not
    thread-safe: runs are serialised by a lock (use one Runtime per thread for parallelism).
    """

    def __init__(
        self,
        config: str | os.PathLike[str] | Mapping[str, Any] | Config | None = None,
        *,
        emulator: Any = None,
        host_services: Sequence[Any] = (),
    ) -> None:
        """`emulator`: an Emulator to put behind `backend: local` (e.g. one on a ManualClock);
        by default the runtime builds its own from the config.

        `host_services`: more services implemented in Python, with Service's interface (alias,
        global_names, operations, call); an outcome whose record is None is left out of the calls.
        """
        self.config = load_config(config)
        self._secrets = self.config.secrets()
        self._backend: Backend = open_backend(self.config, emulator)
        self.services: dict[str, Any] = {**self._backend.services, **{s.alias: s for s in host_services}}
        self._calls: list[dict[str, Any]] = []
        self._deadline: float | None = None
        self._lock = threading.Lock()
        self._vm = LuaVM(
            [ServiceBinding(s.alias, tuple(s.global_names), tuple(s.operations)) for s in self.services.values()],
            self._call_service,
        )

    @property
    def emulator(self) -> Any:
        """The local Twilio emulator behind `backend: local` (None in live mode)."""
        return self._backend.emulator

    def run(
        self,
        source: str,
        request: Mapping[str, Any] | None = None,
        *,
        name: str = "script.lua",
        modules: Mapping[str, tuple[str, str]] | None = None,
        prelude: Sequence[tuple[str, str]] = (),
        context: Context | None = None,
    ) -> ScriptResult:
        """Run Lua source text; `name` is the chunk name used in error messages.

        For whole solutions: `modules` maps `require` names to (file name, source); `prelude`
        chunks run first in the same environment; `context` (from new_context()) keeps one
        environment across runs, as Murano does for a solution's event handlers.
        """
        full_request = build_request(request)
        limits = self.config.limits
        with self._lock:
            self._calls = []
            self._deadline = time.monotonic() + limits.timeout_seconds
            outcome = self._vm.run(
                source, name, limits, full_request, self.config.env, modules, prelude, context, self._deadline
            )
            calls, self._calls = self._calls, []
        return self._result(outcome, calls)

    def new_context(self) -> Context:
        """A Lua environment that successive runs share (see run's `context`)."""
        return Context()

    def run_file(self, path: str | os.PathLike[str], request: Mapping[str, Any] | None = None) -> ScriptResult:
        """Run a Lua file; its file name appears in error messages."""
        file = Path(path)
        try:
            source = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{file}: cannot read script ({exc.strerror or exc})") from None
        except UnicodeDecodeError:
            raise UsageError(f"{file}: script is not valid UTF-8") from None
        return self.run(source, request, name=file.name)

    def close(self) -> None:
        self._backend.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Runtime(config={self.config.source!r})"

    def _call_service(self, alias: str, operation: str, arguments: Any) -> Any:
        outcome = self.services[alias].call(operation, arguments, deadline=self._deadline)
        for warning in outcome.warnings:
            self._vm.log(warning)
        if outcome.record is not None:
            self._calls.append(outcome.record)
        return outcome.value

    def _result(self, outcome: Outcome, calls: list[dict[str, Any]]) -> ScriptResult:
        secrets = self._secrets
        logs = [redact(line, secrets) for line in outcome.logs]
        error = redact(outcome.error, secrets) if outcome.error is not None else None
        return ScriptResult(
            Response(outcome.code, outcome.message, outcome.headers), logs, calls, error, outcome.internal_error
        )


def build_request(request: Mapping[str, Any] | None) -> dict[str, Any]:
    """Murano's request object: defaults for every field, a JSON body decoded to a table."""
    given = dict(request or {})
    full: dict[str, Any] = {
        "method": "GET",
        "uri": "http://localhost/",
        "route": "/",
        "parameters": {},
        "headers": {},
        "body": None,
        "timestamp": int(time.time()),
        "request_id": os.urandom(16).hex(),
        "server_ip": "127.0.0.1",
    }
    full.update(given)
    body = full.get("body")
    if isinstance(body, str):
        content_type = str({k.lower(): v for k, v in (full.get("headers") or {}).items()}.get("content-type", ""))
        if "json" in content_type or not content_type:
            try:
                decoded = json.loads(body)
            except ValueError:
                decoded = None
            if isinstance(decoded, (dict, list)):
                full["body"] = decoded
    return full
