"""Reading a Murano solution from disk into a Solution (see model.py and docs/solutions.md).

Every layout Exosite's tools wrote loads (layouts.py finds it); headers.py reads the scripts.
Nothing in a solution's files stops it from loading: what is skipped or guessed is a warning,
what a deploy would reject (a Lua syntax error, an unreadable file) is an error. Only a
directory that is not a solution at all raises ConfigError.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path, PurePosixPath

from werkzeug.routing import Rule

from ..errors import ConfigError
from ..lua.engine import lupa_lua
from . import luascan
from .headers import KNOWN_SERVICES, handler_key_from_path, split_endpoints, split_handlers
from .layouts import Layout, discover, is_solution, read_yaml
from .model import (
    METHODS,
    UNSERVED_METHODS,
    AssetDir,
    Endpoint,
    EventHandler,
    Script,
    Solution,
)

__all__ = [
    "METHODS", "UNSERVED_METHODS", "AssetDir", "Endpoint", "EventHandler", "Script", "Solution",
    "load_solution", "route_rule",
]

MODULE_PREFIX = "modules."  # accepted before any module name, as older murano-sim solutions wrote it
# Modules the platform provides without the solution shipping them (reference §1.3).
PLATFORM_MODULES = frozenset({"staging.mcrypto"})
_PARAM = re.compile(r"\{([^{}]*)\}")
log = logging.getLogger("murano_sim.loader")  # debug lines: `murano-sim -v`


def load_solution(root: str | os.PathLike[str]) -> Solution:
    """Load the solution at `root`. Raises ConfigError only when `root` is not a solution."""
    base = Path(root)
    if not base.is_dir():
        raise ConfigError(f"{root}: no such solution directory")
    if not is_solution(base):
        raise ConfigError(
            f"{root}: not a Murano solution (no murano.yaml, *.murano, Solutionfile.json, .murano/config, "
            "endpoints/, routes/, modules/, services/ or init.lua)"
        )
    layout = discover(base)
    solution = Solution(
        root=base, layout=layout.name, era=layout.era, assets=layout.assets, default_page=layout.default_page,
        cors=layout.cors, product_id=layout.product_id, env_schema=layout.env_schema,
        warnings=list(layout.warnings), errors=list(layout.errors),
    )
    reader = _Reader(base, solution)
    _load_modules(layout, reader, solution)
    if layout.init_script:
        read = reader.read(layout.init_script)
        if read is not None:
            reader.check_syntax(read[0], read[1])
            solution.init_script = read
    _load_endpoints(layout, reader, solution)
    _load_handlers(layout, reader, solution)
    _load_service_configs(layout, solution)
    _scan_sources(solution)
    log.debug("%s: %s layout, %d endpoints, %d event handlers, %d module names, %d warnings, %d errors",
              base, layout.name, len(solution.endpoints), len(solution.handlers), len(solution.modules),
              len(solution.warnings), len(solution.errors))
    return solution


def route_rule(path: str) -> str:
    """Murano's /users/{id} as a Werkzeug rule /users/<id>; {rest*} matches the rest of the path."""
    return _PARAM.sub(lambda m: f"<path:{m.group(1)[:-1]}>" if m.group(1).endswith("*") else f"<{m.group(1)}>", path)


class _Reader:
    """Reads solution files as text and compiles (never runs) Lua in a bare state, recording problems."""

    def __init__(self, root: Path, solution: Solution) -> None:
        self.root = root
        self.solution = solution
        self._lua = lupa_lua.LuaRuntime(register_eval=False, register_builtins=False, encoding=None)
        self._compile = self._lua.eval("function(code, name) local f, err = loadstring(code, name) return err end")

    def read(self, rel: str) -> tuple[str, str] | None:
        """(rel, text) of a file under the root; None, with an error recorded, when it cannot be read."""
        path = self.root / rel
        try:
            data = path.read_bytes()
        except OSError as exc:
            if isinstance(exc, FileNotFoundError) and not path.is_symlink():
                # a descriptor may list a file its repository never held (Exosite's smart-lock example)
                self.solution.warnings.append(f"{rel}: listed in the project but missing; skipped")
                return None
            self.solution.errors.append(f"{rel}: cannot read ({exc.strerror or exc})")
            return None
        try:
            return rel, data.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.solution.warnings.append(f"{rel}: not valid UTF-8 at byte {exc.start}; read with replacements")
            return rel, data.decode("utf-8", "replace")

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def check_syntax(self, rel: str, source: str) -> bool:
        """Whether the script compiles; a syntax error is recorded as "file:line: message"."""
        err = self._compile(source.encode("utf-8"), ("=" + rel).encode("utf-8"))
        if err:
            self.solution.errors.append(err.decode("utf-8", "replace"))
        return not err


def _load_modules(layout: Layout, reader: _Reader, solution: Solution) -> None:
    named: list[tuple[list[str], str]] = []  # (require names, file)
    for name, rel in layout.module_map.items():
        derived = PurePosixPath(rel).with_suffix("").as_posix().replace("/", ".")
        named.append(([name, derived], rel))
    for section in layout.module_sections:
        for path, under in section.files(reader.root):
            named.append(([PurePosixPath(under).with_suffix("").as_posix().replace("/", ".")], reader.rel(path)))
    globals_: list[tuple[str, str]] = []
    for names, rel in named:
        read = reader.read(rel)
        if read is None:
            continue
        first = names[0]
        if first in solution.modules:
            other = solution.modules[first][0]
            solution.warnings.append(f"{rel}: module {first!r} already comes from {other}; the first wins")
            continue
        for name in names + [MODULE_PREFIX + n for n in names]:
            solution.modules.setdefault(name, read)
        reader.check_syntax(*read)
        if not luascan.has_top_level_return(read[1]):
            globals_.append(read)
    # Old-style modules define globals and run at every VM load; in file order, so it is stable.
    solution.global_modules = sorted(set(globals_))


def _load_endpoints(layout: Layout, reader: _Reader, solution: Solution) -> None:
    files = list(layout.endpoint_files)
    for section in layout.endpoint_sections:
        files.extend(reader.rel(path) for path, _ in section.files(reader.root))
    seen: dict[tuple[str, str], Endpoint] = {}
    for rel in files:
        read = reader.read(rel)
        if read is None:
            continue
        for endpoint in split_endpoints(rel, read[1], solution.warnings):
            key = (endpoint.method, _PARAM.sub("{}", endpoint.path.rstrip("/") or "/"))
            if key in seen:
                first = seen[key]
                solution.warnings.append(
                    f"{rel}:{endpoint.line}: duplicate route {endpoint.method} {endpoint.path} "
                    f"(already declared at {first.file}:{first.line}); the first wins"
                )
                continue
            if endpoint.served:
                try:
                    rule = Rule(route_rule(endpoint.path), endpoint=len(solution.endpoints), methods=[endpoint.method])
                    solution.url_map.add(rule)
                except (ValueError, TypeError) as exc:
                    solution.warnings.append(f"{rel}:{endpoint.line}: invalid route {endpoint.path} ({exc}); skipped")
                    continue
            seen[key] = endpoint
            reader.check_syntax(rel, endpoint.source)
            solution.endpoints.append(endpoint)


def _load_handlers(layout: Layout, reader: _Reader, solution: Solution) -> None:
    found: list[EventHandler] = []
    for (service, event), rel in layout.handler_map.items():
        read = reader.read(rel)
        if read is not None:
            found.append(EventHandler(file=rel, line=1, source=read[1], service=service, event=event))
    for section in layout.service_sections:
        for path, under in section.files(reader.root):
            rel = reader.rel(path)
            read = reader.read(rel)
            if read is None:
                continue
            declared = split_handlers(rel, read[1], solution.warnings)
            if declared is not None:
                found.extend(declared)
                continue
            key = handler_key_from_path(under)
            if isinstance(key, str):
                solution.warnings.append(f"{rel}:1: not loaded as an event handler: {key}")
                continue
            found.append(EventHandler(file=rel, line=1, source=read[1], service=key[0], event=key[1]))
    for handler in found:
        key = (handler.service, handler.event)
        if key in solution.handlers:
            first = solution.handlers[key]
            solution.warnings.append(
                f"{handler.file}:{handler.line}: duplicate event handler {handler.service} {handler.event} "
                f"(already declared at {first.file}:{first.line}); the first wins"
            )
            continue
        if handler.service not in KNOWN_SERVICES:
            solution.warnings.append(
                f"{handler.file}:{handler.line}: {handler.service!r} is not a Murano service alias: "
                f"kept as the script key {handler.service} {handler.event}, fired only on request"
            )
        reader.check_syntax(handler.file, handler.source)
        solution.handlers[key] = handler


def _load_service_configs(layout: Layout, solution: Solution) -> None:
    """services/<alias>.yaml or services/<alias>/<alias>.yaml: that service's configuration."""
    for section in layout.service_sections:
        top = solution.root / section.location
        if not top.is_dir():
            continue
        for path in sorted(p for p in top.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()):
            under = PurePosixPath(path.relative_to(top).as_posix())
            rel = path.relative_to(solution.root).as_posix()
            alias = under.stem
            if len(under.parts) > 2 or (len(under.parts) == 2 and under.parts[0] != alias):
                solution.warnings.append(f"{rel}: not a service configuration (expected <alias>.yaml "
                                         "or <alias>/<alias>.yaml); ignored")
                continue
            doc = read_yaml(solution.root, rel, solution.warnings)
            if doc is None:
                continue
            if not isinstance(doc, dict):
                solution.warnings.append(f"{rel}: a service configuration must be a mapping; ignored")
            elif alias in solution.service_configs:
                solution.warnings.append(f"{rel}: {alias} is already configured; the first wins")
            else:
                solution.service_configs[alias] = doc


def _scan_sources(solution: Solution) -> None:
    """Referenced services and requires of constant names that no module answers."""
    sources: list[tuple[str, str]] = [(s.file, s.source) for s in solution.endpoints]
    sources += [(h.file, h.source) for h in solution.handlers.values()]
    sources += sorted({read for read in solution.modules.values()})
    if solution.init_script:
        sources.append(solution.init_script)
    used: set[str] = set()
    defined: set[str] = set()
    for rel, source in sources:
        uses, defines = luascan.service_uses(source)
        used |= uses
        defined |= defines
        for name, line in luascan.static_requires(source):
            if name not in solution.modules and name not in PLATFORM_MODULES:
                solution.warnings.append(f"{rel}:{line}: require({name!r}): no such module in the solution")
    # A capitalised global the solution defines itself (Greeter = {}) is a module, not a service.
    solution.referenced_services = used - defined


def module_names(solution: Solution) -> dict[str, list[str]]:
    """file -> its require names, without the `modules.` aliases the loader adds."""
    names: dict[str, list[str]] = {}
    for name, (rel, _) in solution.modules.items():
        names.setdefault(rel, [])
        if not name.startswith(MODULE_PREFIX) or name[len(MODULE_PREFIX):] not in solution.modules:
            names[rel].append(name)
    return names

