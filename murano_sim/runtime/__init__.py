"""Runtime.run(script, request=...) -> ScriptResult: the public way to run a Murano script."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..config import Config, redact
from ..errors import UsageError
from ..lua.vm import Context, LuaVM, Outcome, ServiceBinding
from ..services import Services
from ..services.dispatcher import redacted
from ..services.plugin import ServicePlugin
from ..services.settings import load_config
from ..state import State
from ..state.clock import Clock, epoch_seconds
from .request import build_request
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
        clock: Clock | None = None,
        state: State | None = None,
        solution_configs: Mapping[str, Mapping[str, Any]] | None = None,
        extra_specs: Sequence[Any] = (),
        backends: Mapping[str, Any] | None = None,
        plugins: Sequence[ServicePlugin] = (),
    ) -> None:
        """`emulator`: an Emulator to put behind `backend: local` (e.g. one on a ManualClock);
        by default the runtime builds its own from the config.

        `host_services`: more services implemented in Python, with Service's interface (alias,
        global_names, operations, call); an outcome whose record is None is left out of the calls.

        `clock`, `state`: the solution's one clock (default: real time plus an offset, or the
        emulator's) and its state (default: in memory). `solution_configs`: the solution's
        services/<alias>.yaml documents, which config.yaml's services.<alias> overrides.
        `extra_specs`: ServiceSpecs of services besides the shipped ones. `plugins`: ServicePlugins besides
        the built-in and installed ones (a service from your own package, see docs/services.md).
        `backends`: alias -> a local backend object for an http service's `backend: local` (`emulator` is
        the Twilio one's former spelling).
        """
        plugin_specs = [plugin.read_spec() for plugin in plugins]
        self.config = load_config(config, extra_specs=[*extra_specs, *plugin_specs])
        given = dict(backends or {})
        if emulator is not None:
            given.setdefault("twilio", emulator)
        # The solution's services (a Mapping alias -> service: runtime.services["keystore"]).
        self.services = Services(
            self.config, backends=given, clock=clock, state=state, solution_configs=solution_configs,
            host_services=host_services, extra_specs=extra_specs, plugins=plugins,
        )
        self._calls: list[dict[str, Any]] = []
        self._deadline: float | None = None
        self._lock = threading.Lock()
        try:
            self._vm = LuaVM(
                [ServiceBinding(s.alias, tuple(s.global_names), tuple(s.operations)) for s in self.services.values()],
                self._call_service,
                clock=lambda: epoch_seconds(self.services.clock),
                missing_services=self.services.missing_globals(),
            )
        except BaseException:
            self.services.close()
            raise

    @property
    def platform(self) -> Services:
        """The former name of `services` (documented alias)."""
        return self.services

    @property
    def emulator(self) -> Any:
        """The local Twilio emulator behind `backend: local` (None in live mode); documented alias."""
        return self.services.emulator

    @property
    def clock(self) -> Clock:
        """The solution's one clock (every service and os.time read it)."""
        return self.services.clock

    @property
    def state(self) -> State:
        return self.services.state

    def advance(self, seconds: float) -> None:
        """Move the clock forward; timers, lifecycles and callbacks now due run, in time order."""
        self.services.advance(seconds)

    def reset(self) -> None:
        """Every service back to its seeded state."""
        self.services.reset()

    def run(
        self,
        source: str,
        request: Mapping[str, Any] | None = None,
        *,
        name: str = "script.lua",
        modules: Mapping[str, tuple[str, str]] | None = None,
        prelude: Sequence[tuple[str, str]] = (),
        context: Context | None = None,
        globals: Mapping[str, Any] | None = None,
    ) -> ScriptResult:
        """Run Lua source text; `name` is the chunk name used in error messages.

        For whole solutions: `modules` maps `require` names to (file name, source); `prelude`
        chunks run first in the same environment; `context` (from new_context()) keeps one
        environment across runs, as Murano does for a solution's event handlers. `globals` are
        per-execution values set in the environment before the script starts (`context`).
        """
        full_request = build_request(request, now=epoch_seconds(self.services.clock))
        limits = self.config.limits
        with self._lock:
            self._calls = []
            self._deadline = time.monotonic() + limits.timeout_seconds
            outcome = self._vm.run(
                source, name, limits, full_request, self.config.env, modules, prelude, context, self._deadline,
                globals,
            )
            calls, self._calls = self._calls, []
            self.services.state.executed()
        return self._result(outcome, calls)

    def new_context(self) -> Context:
        """A Lua environment that successive runs share (see run's `context`)."""
        return Context()

    def memory_used(self) -> int:
        """Bytes the Lua runtime holds, every kept environment included (for lua.max_vm_memory)."""
        return self._vm.memory_used()

    def collect_garbage(self) -> None:
        with self._lock:
            self._vm.collect_garbage()

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
        self.services.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Runtime(config={self.config.source!r})"

    def _call_service(self, alias: str, operation: str, arguments: Any) -> Any:
        outcome = self.services.call(alias, operation, arguments, deadline=self._deadline)
        for warning in outcome.warnings:
            self._vm.log(warning)
        if outcome.record is not None:
            self._calls.append(outcome.record)
        return outcome.value

    def _result(self, outcome: Outcome, calls: list[dict[str, Any]]) -> ScriptResult:
        # Nothing to redact (a quiet script's usual outcome): the services need not be asked.
        secrets = self.services.secrets() if outcome.logs or calls or outcome.error is not None else []
        logs = [redact(line, secrets) for line in outcome.logs]
        calls = [redacted(record, secrets) for record in calls]  # a Config.getParameters result, ...
        error = redact(outcome.error, secrets) if outcome.error is not None else None
        return ScriptResult(
            Response(outcome.code, outcome.message, outcome.headers), logs, calls, error, outcome.internal_error,
            outcome.error_at,
        )
