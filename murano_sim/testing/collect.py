"""pytest nodes: `test_*.murano.yaml` case files and `*_test.lua` files with their tests."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from ..errors import MuranoSimError
from ..runtime.result import Response, ScriptResult
from ..services.control import FixtureError
from .case_services import case_users, check_services, seed
from .cases import Case, load_cases
from .cassettes import cassette
from .defects import fail_on_internal_error
from .expectations import Mismatch, check_expectations
from .modules import solution_modules
from .runner import ScriptRunner
from .served import ServedSolution, request_arguments
from .settings import display_name, settings_of
from .snapshots import read_snapshot, snapshot_of, snapshot_path, unused_snapshots, write_snapshot
from .testbed import for_replay, live_sections, local_control, open_testbed

HELPERS_NAME = "murano_test.lua"
HELPERS_SOURCE = resources.files(__package__).joinpath("assertions.lua").read_text(encoding="utf-8")
_TEST_NAME = re.compile(r"^test_[A-Za-z0-9_]*$")


def is_case_file(path: Path) -> bool:
    return path.name.startswith("test_") and path.name.endswith((".murano.yaml", ".murano.yml"))


def is_lua_test_file(path: Path) -> bool:
    return path.name.endswith("_test.lua")


class ScriptFailure(Exception):
    """A case or Lua test did not hold; carries what to print instead of a Python traceback."""

    def __init__(self, summary: str, mismatches: Iterable[Mismatch] = (), result: ScriptResult | None = None) -> None:
        super().__init__(summary)
        self.summary = summary
        self.mismatches = list(mismatches)
        self.result = result

    def __str__(self) -> str:
        return self.render()

    def render(self) -> str:
        parts = [self.summary]
        parts += [m.render() for m in self.mismatches]
        result = self.result
        if result is not None:
            reported = any(m.what == "error" for m in self.mismatches) or (result.error or "") in self.summary
            if result.error and not reported:
                parts.append(f"script error: {result.error}")
            if result.logs:
                parts.append("logs:\n" + "\n".join(f"  {line}" for line in result.logs))
            if result.calls:
                parts.append("service calls:\n" + "\n".join(f"  {_call_line(c)}" for c in result.calls))
        return "\n".join(parts)


def _call_line(call: dict[str, Any]) -> str:
    outcome = f"error: {call['error']}" if "error" in call else "ok"
    arguments = json.dumps(call.get("arguments"), ensure_ascii=False, sort_keys=True, default=str)
    return f"{call.get('service')}.{call.get('operation')}({arguments}) -> {call.get('status')} {outcome}"


def _repr_failure(node: pytest.Item | pytest.Collector, excinfo: pytest.ExceptionInfo[BaseException]) -> str | None:
    if isinstance(excinfo.value, ScriptFailure):
        return excinfo.value.render()
    if isinstance(excinfo.value, MuranoSimError):  # a user's mistake: one line, no traceback
        return str(excinfo.value)
    return None


# --- case files ---------------------------------------------------------------------------------


class CaseFile(pytest.File):
    def collect(self) -> Iterator[CaseItem]:
        cases = load_cases(self.path)
        unused = unused_snapshots(self.path, [case.name for case in cases if case.snapshot])
        settings_of(self.config).snapshots_unused.extend(unused)
        for case in cases:
            yield CaseItem.from_parent(self, name=case.name, case=case)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:  # type: ignore[override]
        return _repr_failure(self, excinfo) or super().repr_failure(excinfo)


class CaseItem(pytest.Item):
    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        case = self.case
        if case.skip:
            pytest.skip(case.skip)
        settings = settings_of(self.config)
        config = case.config(settings.base(self.path))
        live = bool(live_sections(config))
        with ExitStack() as stack:
            if case.cassette is not None and live:
                if case.cassette.is_file():
                    config = for_replay(config)
                stack.enter_context(cassette(case.cassette, config.secrets()))
            # A served solution changes its runtime (handlers, services/*.yaml): it gets its own.
            runtime = stack.enter_context(open_testbed(config) if case.solution else settings.test_runtime(config))
            runs = [control.case_run(case) for control in self._case_controls(runtime)]
            for run in runs:
                run.setup()
            runner = ScriptRunner(runtime, case.file.parent, settings.rootpath)
            served = stack.enter_context(ServedSolution(case.solution, runtime)) if case.solution else None
            try:
                seed(runner, case.seeds)  # after serving: device events reach the solution's handlers
            except FixtureError as exc:
                raise ScriptFailure(f"case {case.name!r} ({self._where()}): setup failed: {exc}") from None
            if served is not None:
                # Served whole, one real HTTP request; a case that only drives devices or the clock
                # may leave it out, and is then checked against the last execution it caused.
                if case.request or not (case.seeds.get("devices") or case.advance is not None):
                    method, path, kwargs = request_arguments(case.request)
                    result = served.exchange(method, path, **kwargs)
                    if case.advance is not None:
                        runtime.advance(case.advance)
                else:  # the last execution, after the clock moved (a timer's handler counts)
                    if case.advance is not None:
                        runtime.advance(case.advance)
                    result = served.results[-1] if served.results else ScriptResult(Response())
            else:
                modules = {**solution_modules(case.file.parent, settings.rootpath), **case.modules}
                result = fail_on_internal_error(
                    runtime.run(case.source, case.request, name=case.script_name, modules=modules or None)
                )
                if case.advance is not None:
                    runtime.advance(case.advance)
            for run in runs:
                run.after()
            mismatches = check_expectations(case.expect, result) + check_services(runner, case.expect)
            for run in runs:
                mismatches += run.mismatches()
        if case.snapshot:
            mismatches += self._check_snapshot(result)
        if mismatches:
            raise ScriptFailure(f"case {case.name!r} ({self._where()}) failed:", mismatches, result)

    def _case_controls(self, runtime: Any) -> list[Any]:
        """The controls of the services whose case keys this case uses; each must be there (a local backend).
        Only those are looked up: asking for every control would build every service's model."""
        used = []
        for alias, uses in case_users():
            keys = uses(self.case)
            if not keys:
                continue
            control = local_control(runtime, alias)
            if control is None:
                raise MuranoSimError(f"{self._where()}: {', '.join(keys)} need services.{alias}.backend: local")
            used.append(control)
        return used

    def _check_snapshot(self, result: ScriptResult) -> list[Mismatch]:
        return check_snapshot(self.config, snapshot_path(self.case.file, self.case.name), snapshot_of(result))

    def _where(self) -> str:
        return f"{self.case.file.name}:{self.case.line}"

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        return _repr_failure(self, excinfo) or super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line - 1, f"case: {self.case.name}"


def check_snapshot(config: pytest.Config, path: Path, current: Any) -> list[Mismatch]:
    """Write the snapshot under --murano-snapshot-update, else compare with the stored one."""
    settings = settings_of(config)
    current = json.loads(json.dumps(current, default=str))  # the exact shape a stored one reads back as
    if settings.snapshot_update:
        if write_snapshot(path, current):
            settings.snapshots_written.append(path)
        return []
    if not path.is_file():
        return [Mismatch("snapshot", None, None, f"no snapshot at {path}; run pytest --murano-snapshot-update")]
    stored = read_snapshot(path)
    if stored == current:
        return []
    return [Mismatch("snapshot", stored, current, f"differs from {path.name} (update with --murano-snapshot-update)")]


# --- Lua test files -----------------------------------------------------------------------------


class LuaTestFile(pytest.File):
    def collect(self) -> Iterator[LuaTestItem]:
        settings = settings_of(self.config)
        try:
            source = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise MuranoSimError(f"{self.path}: cannot read ({exc})") from None
        chunk = display_name(self.path, settings.rootpath)
        result = settings.discovery_runtime(self.path).run(
            "return murano_test.names()", name="murano_test_discovery.lua",
            prelude=[(HELPERS_NAME, HELPERS_SOURCE), (chunk, source)],
            modules=solution_modules(self.path.parent, settings.rootpath) or None,
        )
        if result.error is not None:
            raise MuranoSimError(f"{chunk}: cannot load the test file: {result.error}")
        names = result.response.message if isinstance(result.response.message, list) else []
        lines = {name: _definition_line(source, name) for name in names if _TEST_NAME.match(str(name))}
        for name in sorted(lines, key=lambda n: (lines[n] is None, lines[n] or 0, n)):
            yield LuaTestItem.from_parent(self, name=name, source=source, chunk=chunk, line=lines[name])

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:  # type: ignore[override]
        return _repr_failure(self, excinfo) or super().repr_failure(excinfo)


def _definition_line(source: str, name: str) -> int | None:
    """Where `name` is defined (for ordering and reports): `function name(` or `name = function`."""
    pattern = re.compile(rf"^\s*(?:function\s+{name}\s*\(|{name}\s*=\s*function\b)", re.M)
    match = pattern.search(source)
    return source.count("\n", 0, match.start()) + 1 if match else None


class LuaTestItem(pytest.Item):
    def __init__(self, *, source: str, chunk: str, line: int | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source, self.chunk, self.line = source, chunk, line

    def runtest(self) -> None:
        settings = settings_of(self.config)
        with settings.test_runtime(settings.base(self.path), lua_controls=True) as runtime:
            result = runtime.run(
                f'return murano_test.run("{self.name}")', name="murano_test_runner.lua",
                prelude=[(HELPERS_NAME, HELPERS_SOURCE), (self.chunk, self.source)],
                modules=solution_modules(self.path.parent, settings.rootpath) or None,
            )
        fail_on_internal_error(result)
        if result.error is not None:
            raise ScriptFailure(result.error, result=result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        return _repr_failure(self, excinfo) or super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, (self.line or 1) - 1, self.name
