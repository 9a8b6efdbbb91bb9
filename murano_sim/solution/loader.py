"""Reading a Murano solution from disk: endpoints, modules, event handlers, init.lua.

Two layouts, as Exosite's tools write them:
  newer: endpoints/  modules/  services/<alias>_<event>.lua  init.lua
  older: routes/     modules/  services/
Every problem is a ConfigError "relative/path.lua:LINE: what", found at load time.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from werkzeug.routing import Map, Rule

from ..errors import ConfigError
from ..lua.engine import LuaError, lupa_lua

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
# Murano's websocket endpoints have no HTTP equivalent here: loaded, listed, not served.
UNSERVED_METHODS = ("WEBSOCKET",)

_ENDPOINT_HEADER = re.compile(r"^\s*--\s*#\s*ENDPOINT\b(.*)$", re.IGNORECASE)
_EVENT_HEADER = re.compile(r"^\s*--\s*#\s*EVENT\b(.*)$", re.IGNORECASE)
_PARAM = re.compile(r"\{([^{}]*)\}")
_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\*?$")
_PATH_CHARS = re.compile(r"^/[A-Za-z0-9\-._~!$&'()*+,;=:@%/{}]*$")
_CONTENT_TYPE = re.compile(r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class Script:
    """Lua source cut from a file; `source` is padded with blank lines so line numbers are the file's."""

    file: str  # path relative to the solution root, with "/" separators
    line: int  # line of the header that starts it (1 when the whole file is the script)
    source: str


@dataclass(frozen=True)
class Endpoint(Script):
    method: str = "GET"
    path: str = "/"  # as declared, e.g. /users/{id}
    content_type: str | None = None
    security: str | None = None  # STAND-IN until the loader helper's model lands: --#SECURITY

    @property
    def served(self) -> bool:
        return self.method not in UNSERVED_METHODS


@dataclass(frozen=True)
class EventHandler(Script):
    service: str = ""
    event: str = ""


@dataclass
class Solution:
    """A loaded solution. `url_map` routes request paths to indexes into `endpoints`."""

    root: Path
    layout: str  # "newer" or "older"
    endpoints: list[Endpoint] = field(default_factory=list)
    handlers: dict[tuple[str, str], EventHandler] = field(default_factory=dict)
    modules: dict[str, tuple[str, str]] = field(default_factory=dict)  # require name -> (file, source)
    prelude: list[tuple[str, str]] = field(default_factory=list)  # (file, source) run before each script
    url_map: Map = field(default_factory=lambda: Map(strict_slashes=False))
    # STAND-IN fields of SOLUTION_MODEL.md (the loader helper's version replaces these).
    global_modules: list[tuple[str, str]] = field(default_factory=list)
    init_script: tuple[str, str] | None = None
    assets: list[AssetDir] = field(default_factory=list)
    default_page: str = "index.html"
    service_configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    cors: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AssetDir:  # STAND-IN
    path: Path
    include: tuple[str, ...] = ("**/*",)
    exclude: tuple[str, ...] = ()


def load_solution(root: str | os.PathLike[str]) -> Solution:
    """Load every script of the solution at `root`; raise ConfigError on the first problem."""
    base = Path(root)
    if not base.is_dir():
        raise ConfigError(f"{root}: no such solution directory")
    has_endpoints, has_routes = (base / "endpoints").is_dir(), (base / "routes").is_dir()
    if has_endpoints and has_routes:
        raise ConfigError(f"{root}: has both endpoints/ (newer layout) and routes/ (older layout); keep one")
    if not any((base / name).exists() for name in ("endpoints", "routes", "modules", "services", "init.lua")):
        raise ConfigError(f"{root}: not a Murano solution (no endpoints/, routes/, modules/, services/ or init.lua)")
    solution = Solution(root=base, layout="older" if has_routes else "newer")
    checker = _SyntaxChecker()

    for file in _lua_files(base, "modules"):
        rel, text = _read(base, file)
        checker.check(rel, text)
        name = "modules." + ".".join(Path(rel).with_suffix("").parts[1:])
        solution.modules[name] = (rel, text)
        if solution.layout == "older":  # older solutions: a module defines a global table for every script
            solution.prelude.append((rel, text))
        if not re.search(r"^return\b", text, re.M):  # STAND-IN: no top-level return = old-style module
            solution.global_modules.append((rel, text))
    if (base / "init.lua").is_file():
        rel, text = _read(base, base / "init.lua")
        checker.check(rel, text)
        solution.prelude.append((rel, text))
        solution.init_script = (rel, text)
    for folder in ("files", "assets"):  # STAND-IN
        if (base / folder).is_dir():
            solution.assets.append(AssetDir(base / folder))
    for file in sorted((base / "services").glob("*.yaml")) if (base / "services").is_dir() else []:  # STAND-IN
        solution.service_configs[file.stem] = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    if (base / "cors.yaml").is_file():  # STAND-IN
        solution.cors = yaml.safe_load((base / "cors.yaml").read_text(encoding="utf-8")) or {}

    seen: dict[tuple[str, str], Endpoint] = {}
    for file in _lua_files(base, "routes" if has_routes else "endpoints"):
        rel, text = _read(base, file)
        for endpoint in _split_endpoints(rel, text):
            checker.check(rel, endpoint.source)
            key = (endpoint.method, _PARAM.sub("{}", endpoint.path.rstrip("/") or "/"))
            if key in seen:
                first = seen[key]
                raise ConfigError(
                    f"{rel}:{endpoint.line}: duplicate route {endpoint.method} {endpoint.path} "
                    f"(already declared at {first.file}:{first.line})"
                )
            seen[key] = endpoint
            solution.endpoints.append(endpoint)
            if endpoint.served:
                _add_rule(solution.url_map, endpoint, len(solution.endpoints) - 1)

    for file in _lua_files(base, "services"):
        rel, text = _read(base, file)
        for handler in _split_handlers(rel, text, file.stem):
            checker.check(rel, handler.source)
            key = (handler.service, handler.event)
            if key in solution.handlers:
                first = solution.handlers[key]
                raise ConfigError(
                    f"{rel}:{handler.line}: duplicate event handler {handler.service} {handler.event} "
                    f"(already declared at {first.file}:{first.line})"
                )
            solution.handlers[key] = handler
    return solution


def route_rule(path: str) -> str:
    """Murano's /users/{id} as a Werkzeug rule /users/<id>; {rest*} matches the rest of the path."""
    return _PARAM.sub(lambda m: f"<path:{m.group(1)[:-1]}>" if m.group(1).endswith("*") else f"<{m.group(1)}>", path)


def _add_rule(url_map: Map, endpoint: Endpoint, index: int) -> None:
    try:
        url_map.add(Rule(route_rule(endpoint.path), endpoint=index, methods=[endpoint.method]))
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{endpoint.file}:{endpoint.line}: invalid route {endpoint.path}: {exc}") from None


def _lua_files(base: Path, folder: str) -> list[Path]:
    """The deployable .lua files under base/folder, in a stable order (tests and specs are skipped)."""
    top = base / folder
    if not top.is_dir():
        return []
    found = []
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(".lua") and not name.endswith(("_test.lua", "_spec.lua")) and not name.startswith("."):
                found.append(Path(dirpath) / name)
    return found


def _read(base: Path, file: Path) -> tuple[str, str]:
    rel = file.relative_to(base).as_posix()
    try:
        return rel, file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{rel}:1: not valid UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{rel}: cannot read ({exc.strerror or exc})") from None


def _sections(rel: str, lines: list[str], header: re.Pattern[str], what: str) -> list[tuple[int, str, str]]:
    """Split a file at each header line: [(header line number, header arguments, padded body)].

    The body keeps its lines at their original numbers (everything above it is blank lines).
    Only blank lines and comments may come before the first header.
    """
    starts = [i for i, line in enumerate(lines) if header.match(line)]
    if not starts:
        return []
    for i in range(starts[0]):
        stripped = lines[i].strip()
        if stripped and not stripped.startswith("--"):
            raise ConfigError(f"{rel}:{i + 1}: code before the first {what} header belongs to no script")
    out = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        body = "\n" * (start + 1) + "\n".join(lines[start + 1:end])
        out.append((start + 1, header.match(lines[start]).group(1).strip(), body))  # type: ignore[union-attr]
    return out


def _split_endpoints(rel: str, text: str) -> list[Endpoint]:
    sections = _sections(rel, text.splitlines(), _ENDPOINT_HEADER, "--#ENDPOINT")
    if not sections:
        raise ConfigError(f"{rel}:1: no --#ENDPOINT header (an endpoint script starts with `--#ENDPOINT GET /path`)")
    return [_endpoint(rel, line, args, body) for line, args, body in sections]


def _endpoint(rel: str, line: int, args: str, body: str) -> Endpoint:
    where = f"{rel}:{line}"
    parts = args.split()
    if len(parts) not in (2, 3):
        raise ConfigError(f"{where}: malformed header: expected `--#ENDPOINT METHOD /path [content-type]`")
    method, path = parts[0].upper(), parts[1]
    if method not in METHODS + UNSERVED_METHODS:
        raise ConfigError(f"{where}: unknown method {parts[0]!r} (expected one of {', '.join(METHODS)})")
    if not _PATH_CHARS.match(path):
        raise ConfigError(f"{where}: malformed path {path!r}: it must start with / and be a URL path")
    if path.count("{") != path.count("}") or _PARAM.sub("", path).count("{") or _PARAM.sub("", path).count("}"):
        raise ConfigError(f"{where}: malformed path {path!r}: unbalanced braces")
    names = _PARAM.findall(path)
    for name in names:
        if not _PARAM_NAME.match(name):
            raise ConfigError(f"{where}: malformed path parameter {{{name}}} (a name: letters, digits, _)")
    if len({n.rstrip('*') for n in names}) != len(names):
        raise ConfigError(f"{where}: path {path!r} repeats a parameter name")
    content_type = parts[2] if len(parts) == 3 else None
    if content_type is not None and not _CONTENT_TYPE.match(content_type):
        raise ConfigError(f"{where}: malformed content type {content_type!r} (expected e.g. application/json)")
    found = re.search(r"^\s*--\s*#\s*SECURITY\s+(\S+)", body, re.M | re.I)  # STAND-IN
    return Endpoint(file=rel, line=line, source=body, method=method, path=path, content_type=content_type,
                    security=found.group(1) if found else None)


def _split_handlers(rel: str, text: str, stem: str) -> list[EventHandler]:
    sections = _sections(rel, text.splitlines(), _EVENT_HEADER, "--#EVENT")
    if sections:
        handlers = []
        for line, args, body in sections:
            parts = args.split()
            if len(parts) != 2 or not all(_NAME.match(p) for p in parts):
                raise ConfigError(f"{rel}:{line}: malformed header: expected `--#EVENT <service> <event>`")
            handlers.append(EventHandler(file=rel, line=line, source=body, service=parts[0], event=parts[1]))
        return handlers
    service, _, event = stem.partition("_")  # <alias>_<event>.lua; the alias is up to the first "_"
    if not service or not event:
        raise ConfigError(
            f"{rel}:1: cannot tell the event: name the file <service>_<event>.lua or add `--#EVENT <service> <event>`"
        )
    return [EventHandler(file=rel, line=1, source=text, service=service, event=event)]


class _SyntaxChecker:
    """Compiles (never runs) each script in a bare Lua state, so syntax errors show at load time."""

    def __init__(self) -> None:
        self._lua = lupa_lua.LuaRuntime(register_eval=False, register_builtins=False, encoding=None)
        self._compile = self._lua.eval("function(code, name) local f, err = loadstring(code, name) return err end")

    def check(self, rel: str, source: str) -> None:
        try:
            err = self._compile(source.encode("utf-8"), ("=" + rel).encode("utf-8"))
        except LuaError as exc:  # pragma: no cover - loadstring reports, it does not raise
            err = str(exc).encode()
        if err:
            raise ConfigError(err.decode("utf-8", "replace"))
