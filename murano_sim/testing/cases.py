"""Declarative cases: loading and checking `test_*.murano.yaml` files (no pytest in here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Config, yamlfile
from ..errors import UsageError
from .case_services import (
    EXPECT_SERVICE_KEYS,
    OWN_EXPECT_KEYS,
    OWN_SETTING_KEYS,
    SEED_KEYS,
    check_advance,
    check_expected_services,
    check_own_expect,
    check_own_settings,
    check_seeds,
)
from .expectations import CALL_KEYS, EXPECT_KEYS
from .testbed import base_config, config_overrides, merge_config

# Keys a case may carry; the same keys at the top of a file (beside `cases:`) are defaults. The
# services' own keys come from their plugins (case_services.py).
SETTING_KEYS = (
    "script", "source", "solution", "request", "seed", "config", "env", "limits", "modules", *OWN_SETTING_KEYS,
    *SEED_KEYS,
)
CASE_KEYS = ("name", *SETTING_KEYS, "advance", "expect", "snapshot", "cassette", "skip")


class CaseFileError(UsageError):
    """A case file is malformed: the message names the file, line and case."""


@dataclass
class Case:
    name: str
    file: Path
    line: int
    source: str
    script_name: str
    request: dict[str, Any] = field(default_factory=dict)
    config_file: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    modules: dict[str, tuple[str, str]] = field(default_factory=dict)
    expect: dict[str, Any] = field(default_factory=dict)
    snapshot: bool = False
    cassette: Path | None = None
    skip: str | None = None
    solution: Path | None = None  # served whole; `request` is then {method, path, headers, query, body|json|form}
    seeds: dict[str, Any] = field(default_factory=dict)  # keystore, tsdb, users, devices (case_services.py)
    advance: float | None = None  # seconds the solution clock moves after the request
    # The sections of services that keep their case data (fail_next, a phone network's, ...): case_services.py.
    service_settings: dict[str, Any] = field(default_factory=dict)

    def config(self, base: Config) -> Config:
        """This case's configuration: base (or the case's own config file) plus its overrides."""
        start = base_config(self.config_file) if self.config_file else base
        return merge_config(start, self.overrides)


def load_cases(path: Path) -> list[Case]:
    """Every case in a case file, validated; CaseFileError with file:line for any mistake."""
    try:
        node, data = yamlfile.load_document(yamlfile.read_text(path, what="case file"), str(path))
    except yamlfile.YamlFileError as exc:
        raise CaseFileError(str(exc)) from None
    defaults: Mapping[str, Any] = {}
    items_node = node
    if isinstance(data, Mapping):
        unknown = set(data) - {"cases", *SETTING_KEYS}
        if unknown:
            raise CaseFileError(f"{path}: unknown top-level key {sorted(unknown)[0]!r} (known: cases, "
                                f"{', '.join(SETTING_KEYS)})")
        if not isinstance(data.get("cases"), list):
            raise CaseFileError(f"{path}: `cases:` must be a list of cases")
        defaults = {k: v for k, v in data.items() if k != "cases"}
        items_node = next(v for k, v in node.value if k.value == "cases")  # type: ignore[union-attr]
        data = data["cases"]
    if not isinstance(data, list):
        raise CaseFileError(f"{path}: a case file holds a list of cases (or a mapping with `cases:`)")
    lines = [item.start_mark.line + 1 for item in items_node.value] if items_node is not None else []
    cases: list[Case] = []
    seen: dict[str, int] = {}
    scripts: dict[str, tuple[str, str]] = {}  # script name -> (text, file name): read once for all the file's cases
    for index, raw in enumerate(data):
        line = lines[index] if index < len(lines) else 1
        case = _case(path, line, index, raw, defaults, scripts)
        if case.name in seen:
            first = seen[case.name]
            raise CaseFileError(f"{path}:{line}: case name {case.name!r} is used twice (first at line {first})")
        seen[case.name] = line
        cases.append(case)
    return cases


def _case(
    path: Path, line: int, index: int, raw: Any, defaults: Mapping[str, Any], scripts: dict[str, tuple[str, str]]
) -> Case:
    where = f"{path}:{line}"
    if not isinstance(raw, Mapping):
        raise CaseFileError(f"{where}: case {index + 1} must be a mapping")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise CaseFileError(f"{where}: case {index + 1} needs a `name`")
    where = f"{where}: case {name!r}"
    unknown = set(raw) - set(CASE_KEYS)
    if unknown:
        raise CaseFileError(f"{where}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(CASE_KEYS)})")
    settings = {**defaults, **raw}
    if "script" in raw and "source" not in raw:
        settings.pop("source", None)
    if "source" in raw and "script" not in raw:
        settings.pop("script", None)
    solution = settings.get("solution")
    if solution is not None:
        if not isinstance(solution, str) or not _relative(path, solution).is_dir():
            raise CaseFileError(f"{where}: solution must be a solution folder relative to the case file")
        if "script" in raw or "source" in raw:
            raise CaseFileError(f"{where}: give `solution` (with a request) or `script`/`source`, not both")
        source, script_name = "", ""
    else:
        source, script_name = _script(path, where, settings, scripts)
    request = _mapping(settings.get("request"), f"{where}: request")
    overrides = _overrides(path, where, defaults, raw)
    config_file = None
    config = settings.get("config")
    if isinstance(config, str):
        config_file = _relative(path, config)
        if not config_file.is_file():
            raise CaseFileError(f"{where}: config file {config} not found (looked at {config_file})")
    expect = _mapping(raw.get("expect"), f"{where}: expect")
    _check_expect(where, expect)
    seeds, advance = check_seeds(where, settings), check_advance(where, raw.get("advance"))
    own = check_own_settings(where, settings)
    snapshot = raw.get("snapshot", False)
    if not isinstance(snapshot, bool):
        raise CaseFileError(f"{where}: snapshot must be true or false")
    cassette = raw.get("cassette")
    if cassette is not None and not isinstance(cassette, str):
        raise CaseFileError(f"{where}: cassette must be a file name")
    skip = raw.get("skip")
    if skip is not None and not isinstance(skip, (str, bool)):
        raise CaseFileError(f"{where}: skip must be true or a reason")
    return Case(
        name=name.strip(), file=path, line=line, source=source, script_name=script_name, request=dict(request),
        config_file=config_file, overrides=overrides, modules=_modules(path, where, settings.get("modules")),
        expect=dict(expect), snapshot=snapshot,
        cassette=_relative(path, cassette) if cassette else None,
        skip=(skip if isinstance(skip, str) else "skipped by the case file") if skip else None,
        solution=_relative(path, solution) if solution is not None else None, seeds=seeds, advance=advance,
        service_settings=own,
    )


def _script(
    path: Path, where: str, settings: Mapping[str, Any], scripts: dict[str, tuple[str, str]]
) -> tuple[str, str]:
    script, source = settings.get("script"), settings.get("source")
    if script is not None and source is not None:
        raise CaseFileError(f"{where}: give `script` or `source`, not both")
    if source is not None:
        if not isinstance(source, str):
            raise CaseFileError(f"{where}: source must be Lua text")
        return source, "inline.lua"
    if not isinstance(script, str) or not script:
        raise CaseFileError(f"{where}: needs `script` (a Lua file relative to the case file) or `source`")
    if script not in scripts:  # by the name as written: every case of a file resolves it from the same folder
        file = _relative(path, script)
        try:
            scripts[script] = file.read_text(encoding="utf-8"), file.name
        except (OSError, UnicodeDecodeError):
            raise CaseFileError(f"{where}: cannot read script {script} (looked at {file})") from None
    return scripts[script]


def _overrides(path: Path, where: str, defaults: Mapping[str, Any], raw: Mapping[str, Any]) -> dict[str, Any]:
    # File-level settings first, then the case's own; a config file path is applied apart.
    out: dict[str, Any] = {}
    for layer, label in ((defaults, "file"), (raw, "case")):
        config = layer.get("config")
        config_map = _mapping(config, f"{where}: config") if not isinstance(config, str) else {}
        seed = layer.get("seed")
        if isinstance(seed, str):
            seed = str(_relative(path, seed))
        elif seed is not None and not isinstance(seed, Mapping):
            raise CaseFileError(f"{where}: seed must be a mapping or a seed file path ({label} level)")
        layer_overrides = config_overrides(
            config=config_map,
            env=_mapping(layer.get("env"), f"{where}: env"),
            limits=_mapping(layer.get("limits"), f"{where}: limits"),
            seed=seed,
        )
        out = _merge_into(out, layer_overrides)
    return out


def _merge_into(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            base[key] = _merge_into(dict(base[key]), value)
        else:
            base[key] = value
    return base


def _modules(path: Path, where: str, modules: Any) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for name, file_name in _mapping(modules, f"{where}: modules").items():
        file = _relative(path, str(file_name))
        try:
            out[str(name)] = (file.name, file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            raise CaseFileError(f"{where}: cannot read module {name!r} from {file_name} (looked at {file})") from None
    return out


def _check_expect(where: str, expect: Mapping[str, Any]) -> None:
    known = (*EXPECT_KEYS, *EXPECT_SERVICE_KEYS, *OWN_EXPECT_KEYS)
    unknown = set(expect) - set(known)
    if unknown:
        raise CaseFileError(f"{where}: unknown expect key {sorted(unknown)[0]!r} (known: {', '.join(known)})")
    check_expected_services(where, expect)
    check_own_expect(where, expect)
    if "message" in expect and "message_subset" in expect:
        raise CaseFileError(f"{where}: expect `message` (exact) or `message_subset`, not both")
    if "code" in expect and (isinstance(expect["code"], bool) or not isinstance(expect["code"], int)):
        raise CaseFileError(f"{where}: expect.code must be an HTTP status number")
    if "headers" in expect and not isinstance(expect["headers"], Mapping):
        raise CaseFileError(f"{where}: expect.headers must be a mapping")
    for key in ("logs", "logs_contain"):
        if key in expect and not isinstance(expect[key], list):
            raise CaseFileError(f"{where}: expect.{key} must be a list of strings")
    if "calls" in expect:
        calls = expect["calls"]
        if not isinstance(calls, list):
            raise CaseFileError(f"{where}: expect.calls must be a list of {{operation, arguments}}")
        for i, call in enumerate(calls):
            if not isinstance(call, Mapping) or not isinstance(call.get("operation"), str):
                raise CaseFileError(f"{where}: expect.calls[{i}] needs an `operation`")
            unknown = set(call) - set(CALL_KEYS)
            if unknown:
                raise CaseFileError(f"{where}: expect.calls[{i}]: unknown key {sorted(unknown)[0]!r} "
                                    f"(known: {', '.join(CALL_KEYS)})")


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise CaseFileError(f"{where} must be a mapping")
    return value


def _relative(case_file: Path, name: str) -> Path:
    given = Path(name)
    return given if given.is_absolute() else case_file.parent / given
