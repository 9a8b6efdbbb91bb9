"""ScriptRunner: what the `murano` fixture gives a test — a Runtime that knows the solution's modules."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..runtime.result import ScriptResult
from .defects import fail_on_internal_error
from .modules import solution_modules

if TYPE_CHECKING:  # the runtime is imported when first used: pytest-xdist's controller never needs it
    from ..runtime import Runtime


class ScriptRunner:
    """Runs Murano scripts for one test on its own Runtime (and its services' local backends).

    Like Runtime.run / run_file, plus: `require("modules.x")` finds the solution's modules/
    folder (the nearest one above the script or the test file), and a relative run_file path
    is taken from the test file's folder, not from wherever pytest was started.
    """

    def __init__(self, runtime: Runtime, folder: Path, root: Path) -> None:
        self.runtime = runtime
        self._folder = folder
        self._root = root

    @property
    def config(self) -> Any:
        return self.runtime.config

    @property
    def emulator(self) -> Any:
        """`Runtime.emulator`: the phone service's local backend (None in live mode)."""
        return self.runtime.emulator

    @property
    def platform(self) -> Any:
        """Every service of this test's solution, with its state and clock."""
        return self.runtime.platform

    @property
    def clock(self) -> Any:
        return self.runtime.clock

    @property
    def state(self) -> Any:
        return self.runtime.state

    def advance(self, seconds: float) -> None:
        """Move the shared clock; timers, lifecycles and callbacks now due run, in time order."""
        self.runtime.advance(seconds)

    def reset(self) -> None:
        """Every service back to its seeded state."""
        self.runtime.reset()

    def run(
        self,
        source: str,
        request: Mapping[str, Any] | None = None,
        *,
        name: str = "script.lua",
        modules: Mapping[str, tuple[str, str]] | None = None,
        prelude: Sequence[tuple[str, str]] = (),
        context: Any = None,
        globals: Mapping[str, Any] | None = None,
    ) -> ScriptResult:
        """Run Lua source text (see Runtime.run); the test file's folder decides which modules/ is used."""
        found = {**solution_modules(self._folder, self._root), **(modules or {})}
        return fail_on_internal_error(self.runtime.run(
            source, request, name=name, modules=found or None, prelude=prelude, context=context, globals=globals
        ))

    def run_file(
        self,
        path: str | os.PathLike[str],
        request: Mapping[str, Any] | None = None,
        *,
        modules: Mapping[str, tuple[str, str]] | None = None,
        context: Any = None,
    ) -> ScriptResult:
        """Run a Lua file (relative paths from the test file's folder); errors name the file."""
        file = Path(path)
        if not file.is_absolute():
            file = self._folder / file
        try:
            source = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{file}: cannot read script ({exc.strerror or exc})") from None
        except UnicodeDecodeError:
            raise UsageError(f"{file}: script is not valid UTF-8") from None
        found = {**solution_modules(file.parent, self._root), **(modules or {})}
        return fail_on_internal_error(
            self.runtime.run(source, request, name=file.name, modules=found or None, context=context)
        )

    def memory_used(self) -> int:
        return self.runtime.memory_used()

    def collect_garbage(self) -> None:
        self.runtime.collect_garbage()

    def new_context(self) -> Any:
        """A Lua environment that successive runs share (Murano's context of event handlers)."""
        return self.runtime.new_context()

    def __repr__(self) -> str:
        return f"ScriptRunner({self.runtime!r})"
