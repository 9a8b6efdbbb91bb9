"""The Solution model: what the loader reads from disk and the server, `check` and tests consume."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wcmatch import glob
from werkzeug.routing import Map

from ..config.era import CURRENT_ERA

# The methods an --#ENDPOINT header may name; WEBSOCKET endpoints are listed but not in url_map.
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
UNSERVED_METHODS = ("WEBSOCKET",)
METHODS = HTTP_METHODS + UNSERVED_METHODS

# Globs as MuranoCLI and the templates write them: `**` spans folders, {a,b} alternates,
# and `*` also matches names that start with a dot (excludes such as `**/.*` rely on it).
GLOB_FLAGS = glob.GLOBSTAR | glob.BRACE | glob.DOTGLOB


@dataclass(frozen=True)
class Script:
    """Lua source cut from a file, padded with blank lines so line numbers are the file's."""

    file: str  # path relative to the solution root, "/" separators
    line: int  # line of the header that starts it (1 when the whole file is the script)
    source: str


@dataclass(frozen=True)
class Endpoint(Script):
    method: str = "GET"  # upper-cased; WEBSOCKET included
    path: str = "/"  # as declared, e.g. /users/{id}
    content_type: str | None = None  # the REQUEST content type the endpoint accepts (3rd header field)
    tags: tuple[str, ...] = ()
    security: str | None = None  # none|basic|bearer|apiKey (--#SECURITY)
    ratelimit: int | None = None  # --#RATELIMIT n, requests per minute
    summary: str | None = None
    description: str | None = None

    @property
    def served(self) -> bool:
        """Whether url_map routes HTTP requests to it (WEBSOCKET endpoints are matched apart)."""
        return self.method not in UNSERVED_METHODS


@dataclass(frozen=True)
class EventHandler(Script):
    service: str = ""  # alias as written ({product.id} and unknown aliases kept as a script key)
    event: str = ""  # for `--#EVENT device2 data_in`: service device2, event data_in


@dataclass(frozen=True)
class AssetDir:
    """A folder of static files and the globs (relative to it) that select what is deployed."""

    path: Path
    include: tuple[str, ...] = ("**/*",)
    exclude: tuple[str, ...] = ("**/.*",)

    def matches(self, rel: str) -> bool:
        """Whether `rel` (a "/"-separated path under `path`) is a deployed asset."""
        return glob.globmatch(rel, list(self.include), exclude=list(self.exclude) or None, flags=GLOB_FLAGS)

    def files(self) -> list[str]:
        """Every deployed asset under `path`, "/"-separated and sorted."""
        if not self.path.is_dir():
            return []
        found = (p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file())
        return sorted(rel for rel in found if self.matches(rel))


@dataclass
class Solution:
    """A loaded solution. `url_map` routes request paths to indexes into `endpoints`."""

    root: Path
    layout: str  # "murano.yaml" | "<name>.murano" | "Solutionfile.json" | ".murano/config" | "folders"
    era: int = CURRENT_ERA  # the layout's era (config/era.py); config.yaml's `era` overrides it for services
    product_id: str | None = None  # a MuranoCLI project's product (.murano/config product.id)
    endpoints: list[Endpoint] = field(default_factory=list)
    url_map: Map = field(default_factory=lambda: Map(strict_slashes=False))
    handlers: dict[tuple[str, str], EventHandler] = field(default_factory=dict)
    # require name -> (file, source); every module is also listed as "modules.<name>".
    modules: dict[str, tuple[str, str]] = field(default_factory=dict)
    # (file, source) of modules with no top-level `return`, sorted by file: run at every VM load.
    global_modules: list[tuple[str, str]] = field(default_factory=list)
    init_script: tuple[str, str] | None = None  # (file, source), runs once per fresh state
    assets: list[AssetDir] = field(default_factory=list)
    default_page: str = "index.html"
    service_configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    cors: dict[str, Any] | None = None
    env_schema: dict[str, Any] | None = None
    referenced_services: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)  # "file:line: what"; the solution still loads
    # Problems that a deploy would reject (Lua syntax errors, unreadable files): the solution still
    # loads, the broken script answers with its error, and `murano-sim check` exits 1.
    errors: list[str] = field(default_factory=list)

    @property
    def prelude(self) -> list[tuple[str, str]]:
        """Global modules then init.lua, for a consumer that runs both before each script."""
        return self.global_modules + ([self.init_script] if self.init_script else [])
