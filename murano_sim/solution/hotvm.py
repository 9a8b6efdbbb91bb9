"""A solution's hot VM: one Lua environment per solution, as Murano keeps one per solution.

At VM load the solution's old-style modules (no top-level `return`) run and every event
handler becomes a global function `handle_<alias>_<event>(<argument>)`. `init.lua` runs once
per fresh state (the first load, and after reset()), never on a reload. Each execution gets
a fresh `request`, `response`, `context` and handler argument; globals persist between
executions unless the solution's Config sets `reuse_vm: false`. Limits apply per execution.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..lua.handlers import function_name
from ..lua.vm import Context
from ..runtime import Runtime
from ..runtime.result import ScriptResult
from ..services.registry import argument_name
from ..state.ids import new_id
from .eras import module_chunk, module_names
from .loader import EventHandler, Solution
from .turns import Turns

DEFAULT_MAX_QUEUED = 100  # serve.max_queued: endpoint requests that may wait for the VM; more get a 503

EVENT_SLOT = "__murano_sim_event"  # where the trampoline picks up the handler's argument


def handler_definition(handler: EventHandler) -> tuple[str, str]:
    """(file, source) of a chunk defining the handler's global function; the body keeps its lines."""
    # "operation event": the parameter, then other names the era's templates read it under
    argument, *also = argument_name(handler.service, handler.event).split()
    if argument == "websocketInfo":
        also.append("websocket_info")
    alias = "".join(f"local {other} = {argument}; " for other in also)  # on the header line: body lines keep
    name = function_name(handler.service, handler.event)
    return handler.file, f"{name} = function({argument}, ...) {alias}{handler.source}\nend"


def reuse_vm(runtime: Runtime, solution: Solution) -> bool:
    """Config's reuse_vm: config.yaml's services.config, else the solution's services/config.yaml; default on."""
    local = (runtime.config.services.get("config") or {}) if isinstance(runtime.config.services, Mapping) else {}
    given = local.get("reuse_vm", (solution.service_configs.get("config") or {}).get("reuse_vm", True))
    return given is not False and str(given).lower() != "false"


class SolutionVM:
    """The Lua environment of one served solution, and every execution in it.

    `notify(line)` receives lifecycle lines (VM rebuilt, module or init.lua failures).
    """

    def __init__(self, runtime: Runtime, solution: Solution, notify: Callable[[str], None] | None = None) -> None:
        self.runtime = runtime
        self.solution = solution
        self.reuse_vm = reuse_vm(runtime, solution)
        self._notify = notify or (lambda line: None)
        # One execution at a time, first come first served; re-entrant: a handler may trigger another
        # one inside its run. Endpoint requests beyond serve.max_queued waiting are refused (QueueFull).
        serve = runtime.config.data.get("serve") or {}
        self.turns = Turns(int(serve.get("max_queued", DEFAULT_MAX_QUEUED)))
        self._context: Context | None = None
        self._init_pending = not runtime.state.initialized(str(solution.root))  # not on a restart with --state
        runtime.platform.use_era(solution.era)  # a Runtime or the murano fixture's ScriptRunner
        runtime.platform.use_product(solution.product_id)

    # -- lifecycle ----------------------------------------------------------------------------
    def reload(self, solution: Solution) -> None:
        """New sources: a new environment whose modules run again; init.lua does not."""
        with self.turns.turn():
            self.solution = solution
            self.reuse_vm = reuse_vm(self.runtime, solution)
            self.runtime.platform.use_era(solution.era)
            self.runtime.platform.use_product(solution.product_id)
            self._context = None

    def reset(self, *, init: bool = True) -> None:
        """A fresh state: a new environment, and init.lua runs again before the next execution
        (init=False: a loaded snapshot whose init.lua had run)."""
        with self.turns.turn():
            self._context = None
            self._init_pending = init

    def start(self) -> None:
        """Load the environment now, running init.lua first if this state has not run it (after a reset)."""
        with self.turns.turn():
            self._prepare()

    def _load_chunks(self) -> list[tuple[str, str]]:
        solution = self.solution
        era = self.runtime.platform.era  # the layout's, or config.yaml's: older eras scoped modules differently
        names = module_names(solution.modules)
        modules = [module_chunk(file, source, names.get(file), era) for file, source in solution.global_modules]
        return modules + [handler_definition(h) for h in solution.handlers.values()]

    def _prepare(self) -> Context:
        """The context the next execution runs in, loaded (and init.lua run once per fresh state)."""
        if self._init_pending:
            self._init_pending = False
            self._run_init()
        if not self.reuse_vm:
            return self._loaded(self.runtime.new_context())
        if self._context is None:
            self._context = self._loaded(self.runtime.new_context())
        return self._context

    def _loaded(self, context: Context) -> Context:
        """Run each global module and handler definition in `context`, one at a time: a module that
        fails (a syntax error, a runtime error) is one log line, and the others still load."""
        for name, source in self._load_chunks():
            result = self._run(context, source, name, {}, {})
            if result.error is not None:
                self._notify(f"loading {name} failed: {result.error}")
        return context

    def _run_init(self) -> None:
        init = self.solution.init_script
        self.runtime.state.mark_initialized(str(self.solution.root))
        if init is None:
            return
        context = self._loaded(self.runtime.new_context())
        if self.reuse_vm:
            self._context = context
        result = self._run(context, init[1], init[0], {}, {"context": _context("init", "init")})
        if result.error is not None:
            self._notify(f"{init[0]} failed: {result.error}")

    # -- executions ---------------------------------------------------------------------------
    def run_script(
        self, source: str, name: str, request: Mapping[str, Any], *, service: str = "webservice",
        event: str = "request", globals: Mapping[str, Any] | None = None, bounded: bool = False,
    ) -> ScriptResult:
        """An endpoint (or any script) in the solution's environment, with a fresh request and response.

        `globals`: more per-execution values (a websocket endpoint's websocketInfo).
        `bounded`: QueueFull, without running, when serve.max_queued executions wait already."""
        with self.turns.turn(bounded):
            context = self._prepare()
            globals = {"context": _context(service, event), **(globals or {})}
            return self._finish(self._run(context, source, name, request, globals))

    def run_handler(
        self, handler: EventHandler, payload: Any, *, context: Mapping[str, Any] | None = None
    ) -> ScriptResult:
        """Call handle_<alias>_<event>(payload); its return value is the result's message."""
        fields = {**_context(handler.service, handler.event), **(context or {})}
        trampoline = (
            f"local argument = {EVENT_SLOT}; {EVENT_SLOT} = nil; request = nil\n"
            f"return {function_name(handler.service, handler.event)}(argument)"
        )
        with self.turns.turn():
            ctx = self._prepare()
            globals = {"context": fields, EVENT_SLOT: payload}
            return self._finish(self._run(ctx, trampoline, f"{handler.file} (event)", {}, globals))

    def _run(
        self, context: Context, source: str, name: str, request: Mapping[str, Any], globals: dict[str, Any],
    ) -> ScriptResult:
        return self.runtime.run(
            source, request, name=name, modules=self.solution.modules, context=context,
            globals=globals,
        )

    def _finish(self, result: ScriptResult) -> ScriptResult:
        """After an execution: rebuild a VM that grew past lua.max_vm_memory (modules again, no init)."""
        limit = self.runtime.config.limits.max_vm_memory
        if self._context is not None and self.runtime.memory_used() > limit:
            self._context = None
            self.runtime.collect_garbage()
            self._notify(f"the solution's VM passed lua.max_vm_memory = {limit} bytes: rebuilt (modules run again)")
        return result


def _context(service: str, event: str) -> dict[str, Any]:
    return {"tracking_id": new_id(), "service": service, "event": event}
