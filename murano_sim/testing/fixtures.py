"""The fixtures: `murano` (a Runtime on fresh local backends), `murano_solution`, `murano_config` and
`murano_snapshot` (each service's own fixtures are generated from its plugin: fixtures_services.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from ..config import Config
from ..errors import UsageError
from ..runtime.result import ScriptResult
from ..solution.link import ProductService, default_alias, link
from .cassettes import cassette
from .collect import ScriptFailure, check_snapshot
from .runner import ScriptRunner
from .served import ServedSolution
from .settings import settings_of
from .snapshots import normalise, snapshot_of, snapshot_path
from .testbed import (
    ConfigSource,
    base_config,
    built_backend_controls,
    config_overrides,
    for_replay,
    live_sections,
    merge_config,
    open_testbed,
)

MARKER_ARGS = ("config", "env", "limits", "seed")


@pytest.fixture
def murano_config(request: pytest.FixtureRequest) -> ConfigSource:
    """The base configuration of `murano` (a path, dict or Config). Override it in a conftest.py.

    By default: --murano-config / the `murano_config` ini option, else the nearest config.yaml
    from the test file's folder up to the rootdir (a live backend found so needs --murano-live),
    else the built-in defaults (local emulator, demonstration credentials). A relative path
    returned by an override is taken from the test's folder.
    """
    return settings_of(request.config).base(Path(request.node.path))


def _test_config(request: pytest.FixtureRequest, source: ConfigSource) -> Config:
    folder = Path(request.node.path).parent
    config = source if isinstance(source, Config) else base_config(source, relative_to=folder)
    # The farthest marker (module) first, the nearest (function) last: nearer settings win.
    for marker in reversed(list(request.node.iter_markers("murano"))):
        if marker.args:
            raise UsageError("@pytest.mark.murano takes keyword arguments only: config=, env=, limits=, seed=")
        unknown = set(marker.kwargs) - set(MARKER_ARGS)
        if unknown:
            raise UsageError(f"@pytest.mark.murano: unknown argument {sorted(unknown)[0]!r} "
                             f"(known: {', '.join(MARKER_ARGS)})")
        given = marker.kwargs.get("config")
        if isinstance(given, (str, Path)):
            config = base_config(given, relative_to=folder)
            given = None
        seed = marker.kwargs.get("seed")
        if isinstance(seed, (str, Path)):
            seed = str(folder / seed)
        overrides = config_overrides(config=given, env=marker.kwargs.get("env"),
                                     limits=marker.kwargs.get("limits"), seed=seed)
        config = merge_config(config, overrides)
    return config


def _cassette_path(request: pytest.FixtureRequest) -> Path | None:
    marker = request.node.get_closest_marker("murano_cassette")
    if marker is None:
        return None
    if len(marker.args) != 1 or not isinstance(marker.args[0], (str, Path)):
        raise UsageError('@pytest.mark.murano_cassette takes one cassette file name, e.g. "send_sms.yaml"')
    path = Path(marker.args[0])
    return path if path.is_absolute() else Path(request.node.path).parent / "cassettes" / path


@pytest.fixture
def murano(request: pytest.FixtureRequest, murano_config: ConfigSource) -> Iterator[ScriptRunner]:
    """A Runtime and its services' local backends (manual clock) as fresh for this test: reused within
    the process and put back to its seed first (see pool.py).

    `murano.run(source, request=None)` and `murano.run_file(path, request=None)` return a
    ScriptResult; `require("modules.x")` finds the solution's modules/ folder; `.runtime`,
    `.config` and `.emulator` are there for anything else.

    Per test: @pytest.mark.murano(config={...} or "file.yaml", env={...}, limits={...}, seed=...).
    With a live service, @pytest.mark.murano_cassette("name.yaml") records its HTTP to cassettes/name.yaml
    beside the test file, or replays it when it exists (no network, no credentials needed).
    A defect of ours inside a local backend's threads fails the test at teardown (EmulatorDefect).
    """
    config = _test_config(request, murano_config)
    cassette_file = _cassette_path(request)
    with ExitStack() as stack:
        if cassette_file is not None and live_sections(config):
            if cassette_file.is_file():
                config = for_replay(config)
            stack.enter_context(cassette(cassette_file, config.secrets()))
        settings = settings_of(request.config)
        runtime = stack.enter_context(settings.test_runtime(config))
        yield ScriptRunner(runtime, Path(request.node.path).parent, settings.rootpath)
        raise_backend_defects(built_backend_controls(runtime))


class EmulatorDefect(Exception):
    """An unexpected exception inside a service's local backend (an emulator) while a test ran: a murano-sim bug."""


def raise_backend_defects(controls: Mapping[str, Any]) -> None:
    """Fail the test at teardown with what broke in a local backend's threads (a ticker, webhooks),
    as pytest-httpserver's check_assertions does: a defect there is never swallowed. A control
    reports them through `take_defects()` and names its backend with `backend_label`."""
    for alias, control in controls.items():
        take = getattr(control, "take_defects", None)
        defects = take() if callable(take) else []
        if defects:
            more = f" (and {len(defects) - 1} more, see the log)" if len(defects) > 1 else ""
            first = defects[0]
            label = getattr(control, "backend_label", f"the {alias} service's local backend")
            raise EmulatorDefect(f"{label} failed: {type(first).__name__}: {first}{more}") from first


@pytest.fixture
def murano_snapshot(request: pytest.FixtureRequest) -> Callable[..., None]:
    """Compare a ScriptResult (or any JSON value) with `<test file>.snapshots/<test>[-label].json`.

    --murano-snapshot-update writes it instead. A ScriptResult is reduced as case snapshots are.
    """
    used: set[str] = set()

    def check(value: ScriptResult | Any, label: str | None = None) -> None:
        name = request.node.name + (f"-{label}" if label else "")
        if name in used:
            raise UsageError(f"murano_snapshot: {name!r} checked twice in one test; give each a label")
        used.add(name)
        data = snapshot_of(value) if isinstance(value, ScriptResult) else normalise(value)
        mismatches = check_snapshot(request.config, snapshot_path(Path(request.node.path), name), data)
        if mismatches:
            raise ScriptFailure(f"snapshot {name!r} failed:", mismatches)

    return check


@pytest.fixture
def murano_solution(
    request: pytest.FixtureRequest, murano_config: ConfigSource
) -> Iterator[Callable[..., ServedSolution]]:
    """Serve a whole solution in-process: `murano_solution("path/to/solution")` -> ServedSolution.

    The path is taken from the test file's folder. Each call serves on a free loopback port,
    with its own Runtime and local backends (manual clock) configured like `murano` (markers apply;
    a config.yaml in the solution's folder is its base, as `murano-sim serve` reads it, unless
    --murano-config / the ini option or an overridden `murano_config` says otherwise),
    and is shut down when the test ends. The result has `.url`, `.get/.post/...(path, **kw)`
    (requests), `.trigger(service, event, payload)`, `.logs`, `.results` and `.reset()`.

    `murano_solution(app, product="path/to/product", product_alias=None)` serves both, the application
    subscribed to the product as `serve APP --product PRODUCT[:ALIAS]` does; `.product` is the product's.
    """
    settings = settings_of(request.config)
    default = settings.base(Path(request.node.path))
    folder = Path(request.node.path).parent
    with ExitStack() as stack:

        def served(path: str | Path, host_services: tuple[Any, ...] = ()) -> ServedSolution:
            root = Path(path)
            root = root if root.is_absolute() else folder / root
            source = murano_config
            if source is default and (root / "config.yaml").is_file():
                source = settings.base(root / "config.yaml")  # the solution's own, as `serve` reads it
            runtime = stack.enter_context(open_testbed(_test_config(request, source), host_services=host_services))
            return stack.enter_context(ServedSolution(root, runtime))

        def serve(path: str | Path, product: str | Path | None = None, product_alias: str | None = None
                  ) -> ServedSolution:
            if product is None:
                return served(path)
            product_served = served(product)
            service = ProductService(product_served.app, product_alias or default_alias(product_served.root))
            application = served(path, (service,))
            link(application.app, product_served.app, service)
            application.product = product_served
            return application

        yield serve
