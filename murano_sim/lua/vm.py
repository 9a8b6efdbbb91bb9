"""The Lua VM: one locked-down lupa runtime (engine.py picks LuaJIT or Lua 5.1) that runs many scripts, each in a
fresh environment."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import random
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from ..config import LuaLimits
from . import coverage
from .allocator import keep_large_blocks
from .convert import JSON_NULL, TABLE_BUILT, Budget, LimitReached, Unconvertible, from_lua, text, to_lua
from .engine import IS_LUAJIT, LuaError, LuaMemoryError, lupa_lua
from .render import format_duration, render

HOOK_STEP = 1000  # instructions between two limit checks
# LuaJIT's string scratch buffer grows in powers of two from 32 bytes; the sandbox keeps it at
# least the size that building a string of lua.max_memory bytes needs (up to SCRATCH_MAX),
# outside the run's budget (see sandbox.lua's reserve_scratch and docs/sandbox.md).
SCRATCH_MIN, SCRATCH_MAX = 32, 4 << 20
# Calls through C functions that call back into Lua (gsub callbacks, sort comparators,
# __tostring, coroutine resumes) nest on the C stack; past this depth they are a Lua error.
# Measured in scripts/bench/bench_c_depth.py: gsub, the worst, needs ~9 KB of C stack a level.
# Lua 5.1 counts each such level twice against its own limit of 200 C calls (LUAI_MAXCCALLS), so
# there the sandbox's clean error must come first, below 100 levels.
C_DEPTH_MAX = 120 if IS_LUAJIT else 90
# The fields of Murano's request object (runtime/request.py builds them all).
REQUEST_FIELDS = ("method", "uri", "route", "parameters", "headers", "body", "timestamp", "request_id", "server_ip")
_REQUEST_FIELD_SET = frozenset(REQUEST_FIELDS)
_TABLE_OR_NONE = (dict, type(None))
_REQUEST_SCALARS = tuple(f for f in REQUEST_FIELDS if f not in ("parameters", "headers"))  # body may be a table
# Host function status codes (sandbox.lua's host_done reads them).
HOST_OK, HOST_MEMORY, HOST_TIME, HOST_ABORT, HOST_INTERNAL = 0, 1, 2, 3, 4

logger = logging.getLogger("murano_sim")


@dataclass(frozen=True)
class ServiceBinding:
    """What Lua needs to know of a service: its global names and operation names."""

    alias: str
    names: tuple[str, ...]
    operations: tuple[str, ...]


# call_service(alias, operation, python_arguments) -> python value, or a NestedCall
ServiceCaller = Callable[[str, str, Any], Any]


@dataclass(frozen=True)
class NestedCall:
    """A service's answer that runs one of the solution's handler functions inside the caller's
    execution (Scripts.trigger sync, Interface operations): same environment and budgets.

    `missing` is what the script gets when the environment has no such function; with
    returns="value" it gets the handler's return value, with returns="result" it gets `result`.
    """

    function: str
    argument: Any
    context: dict[str, Any]
    missing: Any
    returns: str = "value"
    result: Any = None

    def instruction(self) -> dict[str, Any]:
        return {"function": self.function, "argument": self.argument, "context": self.context,
                "returns": self.returns, "result": self.result}


@dataclass
class Outcome:
    """What one script run produced, in plain Python."""

    ok: bool
    code: int
    message: Any
    headers: dict[str, str]
    logs: list[str] = field(default_factory=list)
    error: str | None = None
    internal_error: str | None = None  # a traceback: murano-sim's own defect, never the script's
    error_at: str | None = None  # a limit error: the script's file:line that was running


class Context:
    """A Lua environment kept across runs (create with Runtime.new_context())."""

    def __init__(self) -> None:
        self.env: Any = None


class _Log:
    """The run's print output, bounded in lines and bytes."""

    def __init__(self, max_lines: int, max_bytes: int) -> None:
        self.lines: list[str] = []
        self.size = 0
        self.max_lines, self.max_bytes = max_lines, max_bytes
        self.truncated = False

    def add(self, line: str) -> None:
        if self.truncated:
            return
        if len(self.lines) >= self.max_lines or self.size + len(line) > self.max_bytes:
            self.truncated = True
            self.lines.append(
                f"[log truncated: lua.max_log_lines = {self.max_lines}, lua.max_log_bytes = {self.max_bytes}]"
            )
            return
        self.lines.append(line)
        self.size += len(line)


def _deny_attribute(*_args: Any) -> Any:
    raise AttributeError("Python objects are not accessible from Lua")


class LuaVM:
    """A sandboxed lupa runtime (LuaJIT, or Lua 5.1: engine.py) reused across runs; see sandbox.lua for the Lua side."""

    def __init__(
        self,
        services: Sequence[ServiceBinding] = (),
        call_service: ServiceCaller | None = None,
        *,
        clock: Callable[[], float] = time.time,
        missing_services: Mapping[str, str] | None = None,
    ) -> None:
        """clock: seconds since the epoch on the solution's clock (os.time, os.date, os.now).
        missing_services: global name -> alias of Murano services not emulated (a clear error on use)."""
        keep_large_blocks()  # the scratch buffer's regrowth after each GC cycle stays a copy
        self._lua = lupa_lua.LuaRuntime(
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=True,
            encoding=None,
            attribute_handlers=(_deny_attribute, _deny_attribute),
            max_memory=0,  # tracked from the start so that set_max_memory works per run
        )
        if IS_LUAJIT and not self._lua.lua_implementation.startswith(b"LuaJIT"):
            # lupa.luajit21 bound to another module's Lua (engine.py): the sandbox's LuaJIT rules would not hold
            raise RuntimeError("lupa.luajit21 runs another lupa module's Lua 5.1 (it was imported before murano-sim, "
                               "after a lupa module loaded with RTLD_GLOBAL): import murano_sim first")
        self._call_service = call_service
        self._log: _Log | None = None
        self._memory_cap = 0
        self._max_memory = 0
        self._deadline: float | None = None
        self._internal_errors: list[str] = []
        self._abort: BaseException | None = None
        self._limit_tables: dict[LuaLimits, Any] = {}
        self._env_cache: tuple[dict[str, str], Any] | None = None
        self._module_cache: tuple[dict[str, tuple[str, str]], Any, Any] | None = None
        self._coverage_tables: dict[tuple[str, bytes], Any] = {}  # while coverage is on (coverage.py)
        host = {
            "now": time.monotonic,
            "random_seed": lambda: random.randrange(1, 2**31),
            "memory_limit": self._memory_limit,
            "log": self._host("print", self._print),
            "to_json": self._host("to_json", self._to_json),
            "from_json": self._host("from_json", self._from_json),
            "call_service": self._host("service call", self._service),
            "format_duration": self._host("bench.measure", lambda s: format_duration(float(s)).encode()),
            "find_plain": self._host("string.find", _find_plain),
            "clock": self._host("os.time", lambda: float(clock())),
            "c_depth_max": C_DEPTH_MAX,
            "patterns_source": resources.files(__package__).joinpath("patterns.lua").read_bytes(),
        }
        specs = [
            {"alias": s.alias, "names": list(s.names), "operations": list(s.operations)} for s in services
        ]
        loader = self._lua.eval("function(code, name) return loadstring(code, name) end")
        chunk = loader(_lua_file("sandbox.lua"), b"=sandbox.lua")
        host_table = self._lua.table_from({k.encode(): v for k, v in host.items()})
        self._run, self._mark_empty_array, is_empty_array, host_function = chunk(
            host_table, to_lua(self._lua, specs), to_lua(self._lua, dict(missing_services or {})),
        )
        platform_host = {  # wrapped by sandbox.lua's host_function, as the host table's are
            "json_parse": host_function(self._host("json.parse", self._json_parse)),
            "rand_bytes": host_function(self._host("rand_bytes", _rand_bytes)),
            "b64_encode": host_function(self._host("b64_encode", _b64_encode)),
            "b64_decode": host_function(self._host("b64_decode", _b64_decode)),
        }
        install_platform, classify = loader(_lua_file("platform.lua"), b"=platform.lua")(
            self._lua.table_from({k.encode(): v for k, v in platform_host.items()})
        )
        host_table[b"install_platform"] = install_platform

        def empty_table_kind(table: Any) -> Any:
            kind = classify(table)  # json.null, or a script's {__type = "slice"} table
            if kind == b"null":
                return JSON_NULL
            if kind is not None:
                return True
            found = is_empty_array(table)  # a service table not built yet is built now: read it again
            return TABLE_BUILT if found == b"built" else bool(found)

        self._is_empty_array = empty_table_kind
        # A request with Murano's usual fields is built by a Lua table constructor from positional
        # arguments: half the cost of table_from on a dict (docs/benchmarks.md, issue 21).
        # sandbox.lua's run calls it with the arguments after its own (one call into Lua per run).
        host_table[b"new_request"] = self._lua.eval(
            "function(parameters, headers, " + ", ".join(_REQUEST_SCALARS) + ")"
            " if parameters == false then parameters = {} end if headers == false then headers = {} end"
            " return {" + ", ".join(f"{f} = {f}" for f in REQUEST_FIELDS) + "} end"
        )
        self._lua.execute(b"python = nil; package.loaded.python = nil")
        self._lua.gccollect()

    # -- host functions ------------------------------------------------------------------------
    # Each answers (status, values...) and never raises into Lua: a Lua error must never unwind
    # through Python frames, and no Python object may reach Lua. The memory limit is lifted
    # while one runs (sandbox.lua's host_done restores it and checks what was allocated), so
    # nothing lupa allocates for it can fail halfway; budgets bound what it builds instead.
    def _host(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def host_function(*args: Any) -> Any:
            self._lua.set_max_memory(0)
            try:
                result = fn(*args)
            except LimitReached as limit:
                return HOST_TIME if limit.kind == "time" else HOST_MEMORY
            except LuaError:  # a limit tripped inside a call back into Lua: sandbox.lua raises it
                return HOST_ABORT
            except (KeyboardInterrupt, SystemExit) as exc:
                self._abort = exc  # ends the execution; Runtime.run's caller gets it
                return HOST_ABORT
            except Exception:  # noqa: BLE001 - our defect: logged, recorded, and one clean line for the script
                trace = traceback.format_exc()
                logger.error("murano-sim internal error in %s:\n%s", name, trace)
                self._internal_errors.append(trace)
                return HOST_INTERNAL, f"{name}: murano-sim internal error (see the log)".encode()
            if type(result) is tuple:
                return (HOST_OK, *result)
            return HOST_OK, result

        return host_function

    def _budget(self) -> Budget:
        """The budget of one conversion out of Lua: the run's whole memory budget, and its deadline."""
        return Budget(self._max_memory, self._deadline)

    def _remaining(self) -> int:
        return max(0, self._memory_cap - self._lua.get_memory_used())

    def _print(self, count: int, *values: Any) -> None:
        if self._log is None:
            return
        args = list(values) + [None] * (int(count) - len(values))
        budget = self._budget()
        self._log.add(" ".join(render(self._from_lua(v, strict=False, budget=budget)) for v in args))

    def _to_json(self, value: Any = None) -> Any:
        try:
            encoded = json.dumps(
                self._from_lua(value, budget=self._budget()), ensure_ascii=False, separators=(",", ":")
            ).encode("utf-8")
        except (Unconvertible, ValueError) as exc:
            return None, f"to_json: {exc}".encode()
        if len(encoded) > self._remaining():
            raise LimitReached("memory")
        return encoded

    def _from_json(self, data: Any = None) -> Any:
        if not isinstance(data, bytes):
            return None, b"from_json: expected a string"
        try:
            value = json.loads(data.decode("utf-8"), parse_constant=_reject_constant, parse_float=_finite_float)
            return self._to_lua(value, Budget(self._remaining(), self._deadline)), None
        except (ValueError, RecursionError) as exc:  # Unconvertible is a ValueError
            return None, f"from_json: {_one_line(exc)}".encode()

    def _json_parse(self, data: Any = None, null: Any = None) -> Any:
        """json.parse: like from_json, but a JSON null stays as json.null."""
        if not isinstance(data, bytes):
            return None, b"json.parse: expected a string"
        try:
            value = json.loads(data.decode("utf-8"), parse_constant=_reject_constant, parse_float=_finite_float)
            budget = Budget(self._remaining(), self._deadline)
            return to_lua(self._lua, value, self._mark_empty_array, budget, null=null), None
        except (ValueError, RecursionError) as exc:  # Unconvertible is a ValueError
            return None, f"json.parse: {_one_line(exc)}".encode()

    def _service(self, alias: bytes, operation: bytes, arguments: Any = None, null: Any = None) -> Any:
        """A service call from Lua; null is the calling environment's json.null, which a null inside
        an array of the result becomes (docs/solutions.md, "Nulls in service results")."""
        if self._call_service is None:
            return None
        try:
            python_args = self._from_lua(arguments, budget=self._budget())
        except Unconvertible as exc:
            value: Any = {"error": f"arguments: {exc}", "status": 400, "type": "QueryError"}
        else:
            value = self._call_service(text(alias), text(operation), python_args)
        if isinstance(value, NestedCall):  # the sandbox calls the handler, inside this execution
            return self._to_lua(value.missing), self._to_lua(value.instruction())
        try:
            return to_lua(self._lua, value, self._mark_empty_array, Budget(self._remaining(), self._deadline),
                          array_null=null)
        except Unconvertible as exc:
            return self._to_lua({"error": f"result: {exc}", "status": 500, "type": "ServerError"})

    def _to_lua(self, value: Any, budget: Budget | None = None) -> Any:
        return to_lua(self._lua, value, self._mark_empty_array, budget)

    def _from_lua(self, value: Any, strict: bool = True, budget: Budget | None = None) -> Any:
        return from_lua(value, strict=strict, is_empty_array=self._is_empty_array, budget=budget)

    def log(self, line: str) -> None:
        """Add a line to the running script's log (service warnings use this)."""
        if self._log is not None:
            self._log.add(line)

    def _request_args(self, request: Mapping[str, Any]) -> tuple[Any, ...]:
        """The request for sandbox.lua's run: (a Lua table,) in general, or, for the usual fields, the
        arguments of host.new_request, which builds the same table that to_lua would, faster."""
        parameters, headers = request.get("parameters"), request.get("headers")
        if not (request.keys() <= _REQUEST_FIELD_SET and type(parameters) in _TABLE_OR_NONE
                and type(headers) in _TABLE_OR_NONE):
            return (self._to_lua(dict(request)),)
        values = [None, self._table_slot(parameters), self._table_slot(headers)]
        value: Any
        for value in map(request.get, _REQUEST_SCALARS):
            kind = type(value)
            if kind is str:
                value = value.encode("utf-8", "surrogatepass")
            elif kind is int and -(2**63) <= value < 2**63:
                pass  # lupa passes it as to_lua would (a wider one becomes a float there)
            elif value is not None and kind is not bool and kind is not float:
                value = self._to_lua(value)  # a str subclass, a wide int (a float), a table, ...
            values.append(value)
        return tuple(values)

    def _table_slot(self, value: dict[str, Any] | None) -> Any:
        # false: an empty table, made by the request's constructor (cheaper than one lupa makes)
        if value is None:
            return None
        return self._to_lua(value) if value else False

    def _limits_table(self, limits: LuaLimits) -> Any:
        """The Lua-side limit settings, built once per distinct LuaLimits."""
        table = self._limit_tables.get(limits)
        if table is None:
            step = min(HOOK_STEP, limits.max_instructions)
            table = self._limit_tables[limits] = to_lua(self._lua, {
                "step": step,
                "max_ticks": limits.max_instructions // step,  # stops within `step` past the limit
                "instruction_msg": f"instruction limit exceeded (lua.max_instructions = {limits.max_instructions})",
                "timeout_msg": f"time limit exceeded (lua.timeout_seconds = {limits.timeout_seconds:g})",
                "memory_msg": f"memory limit exceeded (lua.max_memory = {limits.max_memory} bytes)",
                "scratch": scratch_size(limits.max_memory),
                # in KiB, for the hook's note of the running line near the memory limit (sandbox.lua)
                "memory_near_kb": limits.max_memory / 2 / 1024, "memory_grain_kb": limits.max_memory / 64 / 1024,
            })
        return table

    def _env_table(self, env: Mapping[str, str]) -> Any:
        """The solution environment for os.getenv; reused while unchanged (scripts cannot reach it)."""
        if self._env_cache is None or self._env_cache[0] != env:
            self._env_cache = (dict(env), to_lua(self._lua, dict(env)))
        return self._env_cache[1]

    def _module_tables(self, modules: Mapping[str, tuple[str, str]]) -> tuple[Any, Any]:
        """The solution modules' sources and file names as Lua tables, reused while the modules are the
        same (every run of a solution passes them; sandbox.lua only reads them, scripts cannot reach them)."""
        cached = self._module_cache
        if cached is None or cached[0] != modules:
            cached = self._module_cache = (
                dict(modules),
                to_lua(self._lua, {m: src for m, (_, src) in modules.items()}),
                to_lua(self._lua, {m: f for m, (f, _) in modules.items()}),
            )
        return cached[1], cached[2]

    def memory_used(self) -> int:
        """Bytes the whole Lua runtime holds (every environment it keeps)."""
        return int(self._lua.get_memory_used())

    def collect_garbage(self) -> None:
        self._lua.gccollect()

    def _memory_limit(self, on: bool, start: bool = False) -> bool:
        """Apply (or lift) the run's memory cap; True if memory in use is already past it.

        start: the run's budget starts now, on top of what the VM holds (the sandbox's own setup,
        the request, the reserved string scratch buffer are not the script's)."""
        if start:
            self._memory_cap = self._lua.get_memory_used() + self._max_memory
        self._lua.set_max_memory(self._memory_cap if on else 0)
        return bool(on) and self._lua.get_memory_used() > self._memory_cap

    # -- running a script ----------------------------------------------------------------------
    def run(
        self,
        source: str | bytes,
        name: str,
        limits: LuaLimits,
        request: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        modules: Mapping[str, tuple[str, str]] | None = None,
        prelude: Sequence[tuple[str, str]] = (),
        context: Context | None = None,
        deadline: float | None = None,
        globals: Mapping[str, Any] | None = None,
    ) -> Outcome:
        """Run one script; never raises for anything the script does.

        deadline (time.monotonic()) defaults to now + limits.timeout_seconds.

        modules maps a `require` name to (file name, source); prelude chunks (file name,
        source) run first in the same environment; a Context keeps one environment across
        runs (Murano's shared context of a solution's event handlers). `globals` are set in the
        environment before the script starts (a handler's `context`).
        """
        lua = self._lua
        log = self._log = _Log(limits.max_log_lines, limits.max_log_bytes)
        self._internal_errors, self._abort = [], None
        deadline = deadline if deadline is not None else time.monotonic() + limits.timeout_seconds
        self._deadline, self._max_memory = deadline, limits.max_memory
        request_args = self._request_args(request or {})
        module_table = None
        if modules:
            sources, files = self._module_tables(modules)
            module_table = lua.table_from({b"sources": sources, b"files": files, b"loaded": lua.table()})
        source_bytes = source.encode("utf-8") if isinstance(source, str) else source
        covering = coverage.active()
        covered = None if covering is None else covering.tables(self, lua, self._coverage_tables, [
            (name, source_bytes), *((n, s.encode("utf-8")) for n, s in prelude),
            *((f, s.encode("utf-8")) for f, s in (modules or {}).values()),
        ])
        self._memory_cap = lua.get_memory_used() + limits.max_memory  # until sandbox.lua starts the budget
        try:
            status, run_env, *rest = self._run(
                source_bytes, ("=" + name).encode(), None, self._env_table(env or {}),
                module_table, self._limits_table(limits), deadline,
                to_lua(lua, [list(p) for p in prelude]) if prelude else None,
                context.env if context is not None else None,
                self._to_lua(dict(globals)) if globals else None, covered, *request_args,
            )
            if context is not None:
                context.env = run_env
        except LuaMemoryError:
            lua.set_max_memory(0)
            status, rest = b"error", [f"memory limit exceeded (lua.max_memory = {limits.max_memory} bytes)".encode()]
        except LuaError as exc:  # only reachable through a sandbox defect: report it, never crash
            lua.set_max_memory(0)
            status, rest = b"error", [f"internal error: {exc}".encode()]
            self._internal_errors.append(f"sandbox: {exc}")
            logger.error("murano-sim internal error in the sandbox: %s", exc)
        finally:
            self._log = None
        if self._abort is not None:
            abort, self._abort = self._abort, None
            raise abort
        outcome = self._outcome(status == b"ok", rest, log, limits)
        if self._internal_errors:
            outcome.internal_error = "\n".join(self._internal_errors)
        return outcome

    def _outcome(self, ok: bool, rest: list[Any], log: _Log, limits: LuaLimits) -> Outcome:
        if not ok:
            message = text(rest[0]) if rest and isinstance(rest[0], (bytes, str)) else "script failed"
            at = text(rest[1]) if len(rest) > 1 and isinstance(rest[1], (bytes, str)) else None
            return Outcome(False, 500, "Internal Server Error", {"content-type": "text/plain"}, log.lines, message,
                           error_at=at)
        code, message, raw_headers = (list(rest) + [None, None, None])[:3]
        if type(code) is int and 100 <= code <= 999 and type(message) is bytes and raw_headers is None:
            # the usual answer (a status, a string, no headers): what the general path below gives
            return Outcome(True, code, text(message), {"content-type": "text/plain"}, log.lines)
        budget = Budget(limits.max_memory, None)  # the response, like to_json, within the memory budget
        try:
            code = from_lua(code, strict=False)
            message = text(message) if type(message) is bytes else self._from_lua(message, False, budget)
            raw_headers = {} if raw_headers is None else self._from_lua(raw_headers, False, budget)
        except LimitReached:
            problem = f"response: memory limit exceeded (lua.max_memory = {limits.max_memory} bytes)"
            return Outcome(False, 500, "Internal Server Error", {}, log.lines, problem)
        except Exception as exc:  # noqa: BLE001 - a malformed response is the script's error
            return Outcome(False, 500, "Internal Server Error", {}, log.lines, f"response: {exc}")
        if code is None:
            # `response.code = nil` removes the field: the router's default, 200 (docs/fidelity-results.md)
            code = 200
        if not isinstance(code, int) or not 100 <= code <= 999:
            problem = f"response.code must be an HTTP status, got {code!r}"
            return Outcome(False, 500, "Internal Server Error", {}, log.lines, problem)
        headers = {str(k).lower(): str(v) for k, v in raw_headers.items()} if isinstance(raw_headers, dict) else {}
        if "content-type" not in headers:
            headers["content-type"] = "text/plain" if isinstance(message, str) else "application/json"
        return Outcome(True, code, message, headers, log.lines)


def scratch_size(max_memory: int) -> int:
    """The scratch buffer LuaJIT needs to build a string of max_memory bytes, at most SCRATCH_MAX."""
    size = SCRATCH_MIN
    while size < min(max_memory, SCRATCH_MAX):
        size *= 2
    return size


def _find_plain(haystack: Any, needle: Any, start: int) -> Any:
    """string.find(s, p, init, true) for a long needle: CPython's search is linear, LuaJIT's is not."""
    found = haystack.find(needle, int(start))
    if found < 0:
        return None
    return found + 1, found + len(needle)


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "value is nested too deeply"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _lua_file(name: str) -> bytes:
    return resources.files(__package__).joinpath(name).read_bytes()


MAX_RAND_BYTES = 65536


def _rand_bytes(n: Any = None) -> Any:
    if isinstance(n, float) and n.is_integer():
        n = int(n)
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= MAX_RAND_BYTES:
        return None, f"rand_bytes: expected a whole number from 0 to {MAX_RAND_BYTES}".encode()
    return os.urandom(n)


def _b64_encode(data: Any = None, url: bool = False) -> Any:
    if not isinstance(data, bytes):
        return None, b"b64_encode: expected a string"
    if url:
        return base64.urlsafe_b64encode(data).rstrip(b"=")
    return base64.b64encode(data)


def _b64_decode(data: Any = None, url: bool = False) -> Any:
    if not isinstance(data, bytes):
        return None, b"b64_decode: expected a string"
    try:
        if url:
            return base64.urlsafe_b64decode(data + b"=" * (-len(data) % 4))
        return base64.b64decode(data, validate=True)
    except (ValueError, binascii.Error):
        return None, b"b64_decode: invalid base64"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON constant {name}")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"number {literal[:40]} is out of range")
    return value

