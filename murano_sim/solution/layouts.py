"""Where a solution keeps its parts, found the way Exosite's tools did.

In order: `murano.yaml`, a `<name>.murano` project file, `Solutionfile.json`, `.murano/config`
location keys, else folder conventions. A descriptor section that is absent falls back to the
folder conventions for that part, so a half-described project still loads everything.
"""

from __future__ import annotations

import configparser
import difflib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wcmatch import glob

from ..config import yamlfile
from ..config.era import CURRENT_ERA, MURANOCLI_ERA, SOLUTIONFILE_ERA
from .model import GLOB_FLAGS, AssetDir

LUA_INCLUDE = ("**/*.lua",)
NOT_DEPLOYED = ("_test.lua", "_spec.lua")  # MuranoCLI's `*.ignoring` defaults, with dot-files

# Folder conventions, newest name first: MuranoCLI 3 defaults (routes/, services/, files/) reach
# back into the 2016 names (endpoints/, eventhandlers/, event_handler/); the templates use assets/.
ENDPOINT_DIRS = ("endpoints", "routes")
SERVICE_DIRS = ("services", "eventhandlers", "event_handler")
MODULE_DIRS = ("modules",)
OLD_HANDLER_DIRS = ("eventhandlers", "event_handler")  # MuranoCLI's defaults before March 2017
ASSET_DIRS = ("files", "assets")
MURANOCLI_ENDPOINT_DIR = "routes"  # MuranoCLI's location.endpoints default from March 2017 to its last release


@dataclass(frozen=True)
class Section:
    """A folder (relative to the root, "/"-separated) and the globs selecting its Lua files."""

    location: str
    include: tuple[str, ...] = LUA_INCLUDE
    exclude: tuple[str, ...] = ()

    def files(self, root: Path) -> list[tuple[Path, str]]:
        """(file, path under location) of each deployable file, in a stable order."""
        top = root / self.location
        if not top.is_dir():
            return []
        found = []
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if name.startswith(".") or name.endswith(NOT_DEPLOYED):
                    continue
                path = Path(dirpath) / name
                under = path.relative_to(top).as_posix()
                if glob.globmatch(under, list(self.include), exclude=list(self.exclude) or None, flags=GLOB_FLAGS):
                    found.append((path, under))
        return found


@dataclass
class Layout:
    """What the descriptor (or the folders) say; the loader reads the files."""

    name: str
    endpoint_sections: list[Section] = field(default_factory=list)
    endpoint_files: list[str] = field(default_factory=list)  # Solutionfile: one file of endpoints
    module_sections: list[Section] = field(default_factory=list)
    module_map: dict[str, str] = field(default_factory=dict)  # Solutionfile: require name -> file
    service_sections: list[Section] = field(default_factory=list)
    handler_map: dict[tuple[str, str], str] = field(default_factory=dict)  # Solutionfile
    assets: list[AssetDir] = field(default_factory=list)
    default_page: str = "index.html"
    init_script: str | None = None
    cors: dict[str, Any] | None = None
    cors_file: str | None = None
    env_schema: dict[str, Any] | None = None
    product_id: str | None = None  # MuranoCLI's `.murano/config` product.id, whatever the layout
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def era(self) -> int:
        """Which year's Murano the layout was written for (config/era.py): Exosite's tools of the time
        wrote it: Solutionfile.json 2016, MuranoCLI's `<name>.murano` and `.murano/config` 2017, and so
        are plain folders with its first default `eventhandlers/`; murano.yaml and other folders are
        read as the current platform, except plain folders with MuranoCLI's later `routes/` (2017)."""
        if self.name == "Solutionfile.json":
            return SOLUTIONFILE_ERA
        if self.name == ".murano/config" or self.name.endswith(".murano"):
            return MURANOCLI_ERA
        if self.name == "folders" and any(s.location in OLD_HANDLER_DIRS for s in self.service_sections):
            return MURANOCLI_ERA  # MuranoCLI's first default folders (Sep 2016 - Mar 2017)
        if self.name == "folders" and any(s.location == MURANOCLI_ENDPOINT_DIR for s in self.endpoint_sections):
            return MURANOCLI_ERA  # MuranoCLI's later default (routes/): no platform template used it
        return CURRENT_ERA


def is_solution(root: Path) -> bool:
    """Whether `root` holds a descriptor or any of the conventional folders."""
    names = ("murano.yaml", "Solutionfile.json", ".murano/config", "init.lua",
             *ENDPOINT_DIRS, *SERVICE_DIRS, *MODULE_DIRS, *ASSET_DIRS)
    return any((root / name).exists() for name in names) or bool(project_files(root))


def project_files(root: Path) -> list[Path]:
    """MuranoCLI 3 project files `<name>.murano` (not the `.murano/` config folder)."""
    return sorted(p for p in root.glob("*.murano") if p.is_file() and p.name != ".murano")


def discover(root: Path) -> Layout:
    """The layout of the solution at `root`, descriptor first, folder conventions last.

    A descriptor that cannot be read is an error in the result, and the next way is tried.
    """
    layout = Layout("folders", product_id=project_product_id(root))
    if (root / "murano.yaml").is_file():
        doc = _read_descriptor(root, "murano.yaml", layout)
        if doc is not None:
            layout.name = "murano.yaml"
            return _from_sections(root, layout, doc, ("endpoints", "routes"))
    projects = project_files(root)
    if projects:
        if len(projects) > 1:
            layout.warnings.append(f"{projects[1].name}: several project files; using {projects[0].name}")
        doc = _read_descriptor(root, projects[0].name, layout)
        if doc is not None:
            layout.name = projects[0].name
            return _from_sections(root, layout, doc, ("routes", "endpoints"))
    if (root / "Solutionfile.json").is_file():
        doc = _read_descriptor(root, "Solutionfile.json", layout)
        refused = _muranocli_refuses(doc) if doc is not None else None
        folders = _muranocli_folders(root, doc) if doc is not None and refused else []
        if doc is not None and not folders:
            layout.name = "Solutionfile.json"
            return _from_solutionfile(root, layout, doc)
        if folders:
            layout.warnings.append(
                f"Solutionfile.json: {refused}: MuranoCLI refuses such a file and syncs its default folders, "
                f"which are here ({', '.join(f + '/' for f in folders)}): loading the folders")
    config = _murano_config(root)
    if config is not None:
        layout.name = ".murano/config"
    return _from_folders(root, layout, config or {})


# -- murano.yaml and <name>.murano ------------------------------------------------------------
def _from_sections(root: Path, layout: Layout, doc: dict[str, Any], endpoint_keys: tuple[str, ...]) -> Layout:
    where = layout.name
    endpoints = next((doc[k] for k in endpoint_keys if k in doc), None)
    if endpoint_keys[0] in doc and endpoint_keys[1] in doc:
        layout.warnings.append(f"{where}: both `{endpoint_keys[0]}` and `{endpoint_keys[1]}`; "
                               f"using `{endpoint_keys[0]}`")
    section = _section(endpoints, where, endpoint_keys[0], layout)
    layout.endpoint_sections = [section] if section else _folder_sections(root, ENDPOINT_DIRS, layout)
    section = _section(doc.get("modules"), where, "modules", layout)
    layout.module_sections = [section] if section else _folder_sections(root, MODULE_DIRS, layout)
    section = _section(doc.get("services"), where, "services", layout)
    layout.service_sections = [section] if section else _folder_sections(root, SERVICE_DIRS, layout)
    assets = doc.get("assets")
    section = _section(assets, where, "assets", layout, include=("**/*",), exclude=("**/.*",))
    layout.assets = [_asset_dir(root, section)] if section else _folder_assets(root, layout)
    if isinstance(assets, dict) and isinstance(assets.get("default_page"), str):
        layout.default_page = assets["default_page"]
    init = doc.get("init_script")
    if init is not None and not isinstance(init, str):
        layout.warnings.append(f"{where}: init_script must be a file path; ignored")
        init = None
    layout.init_script = init or ("init.lua" if (root / "init.lua").is_file() else None)
    cors = endpoints.get("cors") if isinstance(endpoints, dict) else None
    _set_cors(root, layout, cors, f"{where}: {endpoint_keys[0]}.cors")
    env_schema = doc.get("env_schema")
    if env_schema is not None:
        if isinstance(env_schema, dict):
            layout.env_schema = env_schema
        else:
            layout.warnings.append(f"{where}: env_schema must be a mapping; ignored")
    return layout


def _section(
    value: Any, where: str, key: str, layout: Layout,
    include: tuple[str, ...] = LUA_INCLUDE, exclude: tuple[str, ...] = (),
) -> Section | None:
    """A descriptor section ({location, include, exclude}) or None when absent or unusable."""
    if value is None:
        return None
    if not isinstance(value, dict):
        layout.warnings.append(f"{where}: `{key}` must be a mapping with a location; using the folder conventions")
        return None
    location = value.get("location", key)
    if not isinstance(location, str) or not location.strip():
        layout.warnings.append(f"{where}: {key}.location must be a folder name; using the folder conventions")
        return None
    return Section(
        location.strip().strip("/") or ".",
        _globs(value.get("include"), include, f"{where}: {key}.include", layout),
        _globs(value.get("exclude"), exclude, f"{where}: {key}.exclude", layout),
    )


def _globs(value: Any, default: tuple[str, ...], where: str, layout: Layout) -> tuple[str, ...]:
    if value is None:
        return default
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    layout.warnings.append(f"{where}: must be a glob or a list of globs; using {list(default)}")
    return default


def _asset_dir(root: Path, section: Section) -> AssetDir:
    return AssetDir(root / section.location, section.include, section.exclude)


# -- Solutionfile.json ------------------------------------------------------------------------
# Solutionfile keys of versions 0.2 and 0.3 (MuranoCLI's schemas sf-v0.2.0/sf-v0.3.0 list these and allow
# no others; product_spec is the 2016 `exosite` tool's, used by Exosite's home-automation example).
SOLUTIONFILE_KEYS = ("version", "default_page", "file_dir", "custom_api", "custom_api_hook", "modules",
                     "event_handler", "cors", "product_spec", "assets", "routes", "routes_hook", "services")


# MuranoCLI's own schemas for the file (lib/MrMurano/schema/sf-v0.2.0.yaml, sf-v0.3.0.yaml): these keys
# are required and no others are allowed.
_SOLUTIONFILE_SCHEMAS = {
    "0.2": (("default_page", "file_dir", "custom_api", "event_handler"),
            ("version", "default_page", "file_dir", "custom_api", "custom_api_hook", "modules", "event_handler",
             "cors")),
    "0.3": (("default_page", "assets", "routes", "services", "version"),
            ("version", "default_page", "assets", "routes", "routes_hook", "modules", "services", "cors")),
}
# MuranoCLI's default folders of 2017 (location.endpoints, location.eventhandlers, location.specs), which
# the Python `exosite` tool never read unless its Solutionfile named them.
_MURANOCLI_FOLDERS = ("routes", "eventhandlers", "specs")


def _muranocli_refuses(doc: dict[str, Any]) -> str | None:
    """Why MuranoCLI's schema for the file's version refuses it, or None when it loads."""
    version = "0.3" if str(doc.get("version", "0.2")).startswith("0.3") else "0.2"
    required, allowed = _SOLUTIONFILE_SCHEMAS[version]
    missing = [key for key in required if key not in doc]
    unknown = [str(key) for key in doc if key not in allowed]
    if not missing and not unknown:
        return None
    parts = ([f"no {', '.join(missing)}"] if missing else []) + ([f"unknown {', '.join(unknown)}"] if unknown else [])
    return f"version {version}: " + "; ".join(parts)


def _muranocli_folders(root: Path, doc: dict[str, Any]) -> list[str]:
    """MuranoCLI's default folders present that the Solutionfile itself does not point into: a project
    that MuranoCLI deployed from its folders (its README's `murano syncup`) with a stray Solutionfile."""
    paths: list[str] = []
    pending: list[Any] = list(doc.values())
    while pending:  # every string value: the paths the file maps (keys are names, not paths)
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str):
            paths.append(value.strip("/"))
    return [name for name in _MURANOCLI_FOLDERS if (root / name).is_dir()
            and not any(path == name or path.startswith(name + "/") for path in paths)]


def _from_solutionfile(root: Path, layout: Layout, doc: dict[str, Any]) -> Layout:
    """Solutionfile 0.2 (custom_api, file_dir, event_handler) or 0.3 (routes, assets, services)."""
    where = "Solutionfile.json"
    for key in doc:
        if str(key) not in SOLUTIONFILE_KEYS:
            near = difflib.get_close_matches(str(key), SOLUTIONFILE_KEYS, n=1)
            hint = f" (did you mean `{near[0]}`?)" if near else ""
            layout.warnings.append(f"{where}: unknown key `{key}`{hint}; Murano's tools ignore it")
    for key in ("custom_api", "routes"):
        value = doc.get(key)
        if isinstance(value, str) and value:
            layout.endpoint_files.append(value.strip("/"))
        elif value is not None:
            layout.warnings.append(f"{where}: `{key}` must be the path of one Lua file; ignored")
    for key in ("file_dir", "assets"):
        value = doc.get(key)
        if isinstance(value, str) and value:
            layout.assets.append(AssetDir(root / value.strip("/")))
        elif value is not None:
            layout.warnings.append(f"{where}: `{key}` must be a folder path; ignored")
    if isinstance(doc.get("default_page"), str):
        layout.default_page = doc["default_page"]
    modules = doc.get("modules")
    if isinstance(modules, dict):
        for name, path in modules.items():
            if isinstance(path, str):
                layout.module_map[str(name)] = path.strip("/")
            else:
                layout.warnings.append(f"{where}: modules.{name} must be a file path; ignored")
    elif modules is not None:
        layout.warnings.append(f"{where}: `modules` must map module names to files; ignored")
    for key in ("event_handler", "services"):
        value = doc.get(key)
        if value is None:
            continue
        if not isinstance(value, dict):
            layout.warnings.append(f"{where}: `{key}` must map service -> event -> file; ignored")
            continue
        for service, events in value.items():
            if not isinstance(events, dict):
                layout.warnings.append(f"{where}: {key}.{service} must map events to files; ignored")
                continue
            for event, path in events.items():
                if isinstance(path, str):
                    layout.handler_map[(str(service), str(event))] = path.strip("/")
                else:
                    layout.warnings.append(f"{where}: {key}.{service}.{event} must be a file path; ignored")
    if (root / "init.lua").is_file():
        layout.init_script = "init.lua"
    _set_cors(root, layout, doc.get("cors"), f"{where}: cors")
    return layout


# -- .murano/config and folder conventions ----------------------------------------------------
def _murano_config(root: Path) -> dict[str, str] | None:
    """MuranoCLI's `.murano/config` keys as "section.key" -> value; None without location keys."""
    keys = _ini_keys(root / ".murano" / "config")
    return keys if any(k.startswith("location.") for k in keys) else None


def project_product_id(root: Path) -> str | None:
    """The product id MuranoCLI saved for the project (`murano config product.id`, `--save`): its
    `.murano/config`, else MrMurano's `.mrmuranorc` (which MuranoCLI migrates), else None."""
    for path in (root / ".murano" / "config", root / ".mrmuranorc"):
        product = _ini_keys(path).get("product.id")
        if product:
            return product
    return None


def product_spec(root: Path) -> str:
    """Where a MuranoCLI project keeps its product's resources (`murano syncup` uploaded them to the
    product): `.murano/config` location.specs (a folder, or the file itself since MuranoCLI 3) and
    product.spec, else MuranoCLI's defaults, `specs/resources.yaml`."""
    keys = _ini_keys(root / ".murano" / "config")
    location = (keys.get("location.specs") or "specs").strip("/")
    if location.endswith((".yaml", ".yml")):
        return location
    return f"{location}/{keys.get('product.spec') or 'resources.yaml'}"


def _ini_keys(path: Path) -> dict[str, str]:
    """An INI file's keys as "section.key" -> value; {} when it is missing or unreadable."""
    if not path.is_file():
        return {}
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(path.read_text(encoding="utf-8", errors="replace"), source=str(path.name))
    except (configparser.Error, OSError):
        return {}  # MuranoCLI's INI dialect is lenient; an unreadable file just means folders
    return {f"{s}.{k}": v.strip().strip("'\"") for s in parser.sections() for k, v in parser.items(s)}


def _from_folders(root: Path, layout: Layout, config: dict[str, str]) -> Layout:
    def located(key: str) -> str | None:
        value = config.get(f"location.{key}")
        return value.strip("/") or "." if value else None

    endpoints = located("endpoints")
    layout.endpoint_sections = [Section(endpoints)] if endpoints else _folder_sections(root, ENDPOINT_DIRS, layout)
    modules = located("modules")
    layout.module_sections = [Section(modules)] if modules else _folder_sections(root, MODULE_DIRS, layout)
    handlers = located("eventhandlers")
    layout.service_sections = [Section(handlers)] if handlers else _folder_sections(root, SERVICE_DIRS, layout)
    files = located("files")
    layout.assets = [AssetDir(root / files)] if files else _folder_assets(root, layout)
    layout.default_page = config.get("files.default_page") or layout.default_page
    layout.init_script = "init.lua" if (root / "init.lua").is_file() else None
    cors = located("cors")
    if cors:
        _set_cors(root, layout, cors, ".murano/config: location.cors")
    else:
        _set_cors(root, layout, None, "cors.yaml")
    return layout


def _folder_sections(root: Path, names: tuple[str, ...], layout: Layout) -> list[Section]:
    present = [name for name in names if (root / name).is_dir()]
    if set(ENDPOINT_DIRS) <= set(present):
        layout.warnings.append(f"{root.name or root}: both endpoints/ and routes/ hold endpoints; loading both")
    return [Section(name) for name in present]


def _folder_assets(root: Path, layout: Layout) -> list[AssetDir]:
    return [AssetDir(root / name) for name in ASSET_DIRS if (root / name).is_dir()]


# -- shared -------------------------------------------------------------------------------------
def _set_cors(root: Path, layout: Layout, value: Any, where: str) -> None:
    """CORS given inline, as a path to a YAML file, or else from ./cors.yaml if present."""
    if isinstance(value, dict):
        layout.cors = value
        return
    if value is not None and not isinstance(value, str):
        layout.warnings.append(f"{where}: must be a mapping or the path of a YAML file; ignored")
        return
    path = value or "cors.yaml"
    if not (root / path).is_file():
        if value:
            layout.warnings.append(f"{where}: {path} not found; no CORS")
        return
    layout.cors_file = path
    doc = read_yaml(root, path, layout.warnings)
    if isinstance(doc, dict):
        layout.cors = doc
    elif doc is not None:
        layout.warnings.append(f"{path}: CORS must be a mapping; ignored")


def _read_descriptor(root: Path, name: str, layout: Layout) -> dict[str, Any] | None:
    """A descriptor's top-level mapping; on any problem an error naming it, and None."""
    path = root / name
    try:
        text = yamlfile.read_text(path, name)
        doc = json.loads(text) if name.endswith(".json") else yamlfile.parse(text, name)
    except ValueError as exc:
        layout.errors.append(f"{name}: invalid JSON ({exc}); descriptor skipped")
        return None
    except yamlfile.YamlFileError as exc:
        layout.errors.append(f"{_yaml_problem(exc)}; descriptor skipped")
        return None
    if not isinstance(doc, dict):
        layout.errors.append(f"{name}: the top level must be a mapping; descriptor skipped")
        return None
    return doc


def read_yaml(root: Path, rel: str, warnings: list[str]) -> Any:
    """A YAML file's document (an empty file is {}); on a problem a warning, and None."""
    try:
        doc = yamlfile.load(root / rel, rel)
    except yamlfile.YamlFileError as exc:
        warnings.append(f"{_yaml_problem(exc)}; ignored")
        return None
    return {} if doc is None else doc


def _yaml_problem(exc: yamlfile.YamlFileError) -> str:
    """`file[:line]: what`, a parse error as `invalid YAML (what)`."""
    if exc.line and not exc.problem.endswith("refused"):
        return f"{exc.location}: invalid YAML ({exc.problem})"
    return str(exc)
