"""The editor files of a solution, generated from the service specs and a real sandbox:
`.murano-sim/murano.d.lua` (LuaLS `---@meta`), `.luarc.json` (LuaLS) and `.luacheckrc` (luacheck).

Each file carries a fingerprint of its own body; a file whose fingerprint no longer matches (the
user edited it) or that has none (the user wrote it) is not overwritten without `force`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path

from ..errors import UsageError
from ..services.plugin import discover
from ..services.spec import ArgumentSpec, OperationSpec, ServiceSpec
from .luaglobals import EXECUTION_GLOBALS, Globals, LuaGlobal

META_FILE = ".murano-sim/murano.d.lua"
LUARC_FILE = ".luarc.json"
LUACHECK_FILE = ".luacheckrc"
_MARK = "murano-sim stubs"
_LUA_MARK = re.compile(rf"^-- {_MARK} sha256:([0-9a-f]{{64}})\n")
_JSON_MARK_KEY = "$generated"
# Globals a script may write fields of or replace: luacheck's `globals` (the rest are `read_globals`).
_WRITABLE = ("request", "response", "context", "murano", "_G")
_LUA_KEYWORDS = frozenset(
    "and break do else elseif end false for function goto if in local nil not or repeat return then true "
    "until while".split()
)
_LUA_TYPES = {
    "string": "string", "integer": "integer", "number": "number", "boolean": "boolean",
    "array": "string|string[]", "list": "any[]", "object": "table", "scalar": "string|number|boolean", "any": "any",
}
_RESULTS = {"object": "table", "status": "{status: integer}", "nil": "nil"}


def specs() -> list[ServiceSpec]:
    """Every service's spec, through the plugin registry (built-in folders and installed packages)."""
    return [plugin.read_spec() for plugin in discover()]


def _digest(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _lua_file(body: str) -> str:
    return f"-- {_MARK} sha256:{_digest(body)}\n{body}"


def _field(owner: str, name: str) -> str:
    return f'{owner}["{name}"]' if name in _LUA_KEYWORDS or not name.isidentifier() else f"{owner}.{name}"


def _function(owner: str, name: str, parameters: str) -> str:
    """A function definition; `t["end"] = function` where the name cannot follow a dot."""
    target = _field(owner, name)
    if "[" in target:
        return f"{target} = function({parameters}) end"
    return f"function {target}({parameters}) end"


def _argument_type(arg: ArgumentSpec) -> str:
    if arg.enum:
        return "|".join(json.dumps(value) for value in arg.enum)
    return _LUA_TYPES.get(arg.type, "any")


def _operation(owner: str, op: OperationSpec) -> list[str]:
    args_class = f"{owner}.{op.name}.arguments"
    lines = [f"---@class {args_class}"]
    for arg in op.arguments.values():
        optional = "" if arg.required else "?"
        lines.append(f"---@field {arg.name}{optional} {_argument_type(arg)}")
    if op.additional_arguments or not op.arguments:
        lines.append("---@field [string] any")
    lines.append("")  # the class's block ends here; the next one documents the function
    if op.summary:
        lines.append(f"--- {op.summary.strip().splitlines()[0]}")
    required = any(arg.required for arg in op.arguments.values())
    lines += [
        f"---@param arguments{'' if required else '?'} {args_class}",
        f"---@return {_RESULTS.get(op.returns, 'any')}|MuranoError",
        _function(owner, op.name, "arguments"),
        "",
    ]
    return lines


def render_meta(services: Sequence[ServiceSpec], globals_: Globals) -> str:
    """LuaLS definitions: every service operation (argument table, result), the platform's and a request's globals."""
    lines = [
        "---@meta",
        "-- Murano's globals as murano-sim runs them, generated from the service specs: do not edit,",
        "-- run `murano-sim stubs` again after an upgrade.",
        "",
        "---@class MuranoError  a failed service call's result",
        "---@field error string",
        "---@field status integer",
        "---@field type? string",
        "",
        "---@class MuranoRequest  an endpoint's request (Webservice)",
        "---@field method string",
        "---@field uri string",
        "---@field route string",
        "---@field parameters table<string, any>",
        "---@field headers table<string, string>",
        "---@field body any",
        "---@field timestamp integer",
        "---@field request_id string",
        "---@field server_ip string",
        "---@type MuranoRequest",
        "request = {}",
        "",
        "---@class MuranoResponse  what an endpoint answers",
        "---@field code integer",
        "---@field message any",
        "---@field headers table<string, string>",
        "---@type MuranoResponse",
        "response = {}",
        "",
        "---@type table  the execution's context (solution id, service, event)",
        "context = {}",
        "",
    ]
    by_global = {name: spec for spec in services for name in spec.global_names}
    for spec in services:
        owner = spec.global_names[0]
        lines += [f"---@class {owner}Service  {spec.summary}".rstrip(), f"{owner} = {{}}", ""]
        for op in spec.operations.values():
            lines += _operation(owner, op)
        lines += [f"{other} = {owner}" for other in spec.global_names[1:]]
    for name in globals_.execution:
        if name not in EXECUTION_DEFINED:
            lines += ["---@type any  an event handler's argument", f"{name} = nil", ""]
    for item in globals_.platform.values():
        if item.name in by_global or item.name in _DEFINED_HERE:
            continue
        lines += _platform_global(item, globals_.standard.get(item.name))
    return "\n".join(lines).rstrip() + "\n"


EXECUTION_DEFINED = frozenset(EXECUTION_GLOBALS)
# Globals render_meta declares itself, or that LuaLS's LuaJIT runtime already knows as they are.
_DEFINED_HERE = EXECUTION_DEFINED | {"_G", "_VERSION"}


def _platform_global(item: LuaGlobal, standard: frozenset[str] | None) -> list[str]:
    """A global beyond plain Lua's (json, log, to_json), or plain Lua's table with Murano's additions (os.now)."""
    if standard is not None and item.kind != "table":
        return []  # the editor's own definition of a standard function is better than `(...) -> any`
    if item.kind == "function":
        return ["---@param ... any", "---@return any", f"function {item.name}(...) end", ""]
    if item.kind != "table":
        return [f"---@type {item.kind}", f"{item.name} = nil", ""]
    extra = [key for key in item.fields if standard is None or key not in standard]
    if standard is not None and not extra:
        return []
    lines = [] if standard is not None else [f"{item.name} = {{}}"]
    lines += [f"{_field(item.name, key)} = {{}}" if key in item.tables else _function(item.name, key, "...")
              for key in extra]
    return lines + [""]


def render_luacheckrc(globals_: Globals) -> str:
    """A luacheck configuration: Murano's sandbox as the whole standard library, services with their operations."""
    read_only: list[str] = []
    writable: list[str] = []
    added = {name for name, _ in globals_.extended}
    for item in globals_.platform.values():
        if item.name in _WRITABLE:
            writable.append(f"{item.name} = {{other_fields = true}}")
        elif item.kind == "table" and item.fields:
            keys = sorted({*item.fields, *(key for name, key in globals_.extended if name == item.name)})
            fields = ", ".join(f"[{json.dumps(key)}] = {{}}" for key in keys)
            # A table the solution adds fields to is writable (luacheck's `globals`), with those fields known.
            (writable if item.name in added else read_only).append(f"{item.name} = {{fields = {{{fields}}}}}")
        else:
            read_only.append(f"{item.name} = {{}}")
    writable += [f"{name} = {{other_fields = true}}" for name in (*globals_.execution, *globals_.solution)
                 if name not in globals_.platform]
    body = "\n".join([
        "-- luacheck configuration for Murano scripts, generated by `murano-sim stubs` from the service",
        "-- specs and murano-sim's sandbox: run it again after an upgrade or a new module global.",
        'std = "murano"',
        "stds.murano = {",
        "  read_globals = {",
        *(f"    {line}," for line in read_only),
        "  },",
        "  globals = {",
        *(f"    {line}," for line in sorted(set(writable))),
        "  },",
        "}",
        "-- *_test.lua files: murano-sim's test helpers, and their own test_* functions.",
        'files["**/*_test.lua"] = {',
        "  allow_defined_top = true,",
        '  ignore = {"131"},  -- a test_* function is called by the runner, not by the file',
        "  globals = {" + ", ".join(json.dumps(name) for name in globals_.tests) + "},",
        "}",
        'exclude_files = {".murano-sim/", ".venv/", "tests/"}',
        "max_line_length = false",
        "",
    ])
    return _lua_file(body)


def render_luarc(globals_: Globals) -> str:
    """LuaLS's workspace settings: LuaJIT, the generated definitions, the solution's own globals."""
    settings: dict[str, object] = {
        "$schema": "https://raw.githubusercontent.com/LuaLS/vscode-lua/master/setting/schema.json",
        "runtime.version": "LuaJIT",
        "runtime.builtin": {"io": "disable", "debug": "disable", "package": "disable", "ffi": "disable"},
        "workspace.library": [".murano-sim"],
        "workspace.ignoreDir": [".venv", "tests"],
        "diagnostics.globals": sorted(set(globals_.solution) - set(globals_.platform)),
    }
    return _json_file(settings)


def _json_file(settings: dict[str, object]) -> str:
    body = json.dumps(settings, indent=2, sort_keys=True)
    return json.dumps({_JSON_MARK_KEY: f"{_MARK} sha256:{_digest(body)}", **settings}, indent=2) + "\n"


def unedited(path: Path) -> bool:
    """Whether the file at path is absent, or murano-sim's output as it wrote it."""
    if not path.exists():
        return True
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if path.suffix == ".json":
        try:
            settings = json.loads(text)
            mark = str(settings.pop(_JSON_MARK_KEY, ""))
        except (ValueError, AttributeError):
            return False
        return mark == f"{_MARK} sha256:{_digest(json.dumps(settings, indent=2, sort_keys=True))}"
    match = _LUA_MARK.match(text)
    return match is not None and match.group(1) == _digest(text[match.end():])


def editor_files(globals_: Globals, services: Sequence[ServiceSpec] | None = None) -> dict[str, str]:
    """Relative path -> content of every editor file."""
    return {
        META_FILE: _lua_file(render_meta(specs() if services is None else services, globals_)),
        LUARC_FILE: render_luarc(globals_),
        LUACHECK_FILE: render_luacheckrc(globals_),
    }


def write_files(root: Path, files: dict[str, str], *, force: bool = False) -> list[Path]:
    """Write every file, or none when one would overwrite a user's file without `force` (one-line UsageError)."""
    if not force:
        for relative in files:
            if not unedited(root / relative):
                raise UsageError(f"{root / relative}: not as murano-sim wrote it (edited?); --force overwrites it")
    written = []
    for relative, content in files.items():
        path = root / relative
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{path}: cannot write ({exc.strerror or exc})") from None
        written.append(path)
    return written
