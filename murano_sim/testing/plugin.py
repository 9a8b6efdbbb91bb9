"""The pytest11 plugin: registered by installing murano-sim.

Collects `test_*.murano.yaml` case files and `*_test.lua` files, and provides the fixtures
`murano`, `murano_solution`, `murano_config`, `murano_snapshot` and one per name in the services'
plugins (`keystore`, `tsdb`, `users`, `outbox`, `devices`, `timers`, a phone service's control, ...).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ..errors import MuranoSimError
from . import coverage
from .collect import CaseFile, LuaTestFile, is_case_file, is_lua_test_file
from .fixtures import murano, murano_config, murano_snapshot, murano_solution
from .fixtures_services import generated
from .settings import SETTINGS_KEY, Settings, settings_of

WORKER_OUTPUT_KEY = "murano_sim"

# Each service's fixtures (keystore, tsdb, users, outbox, devices, timers, ...) come from its plugin.
_SERVICE_FIXTURES = generated()
globals().update(_SERVICE_FIXTURES)

__all__ = ["murano", "murano_config", "murano_snapshot", "murano_solution", *_SERVICE_FIXTURES]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("murano-sim", "Murano script tests (murano-sim)")
    group.addoption(
        "--murano-snapshot-update", action="store_true", default=False,
        help="write response snapshots (<case file>.snapshots/<case>.json) instead of comparing them",
    )
    group.addoption(
        "--murano-config", metavar="FILE", default=None,
        help="base config.yaml for murano fixtures, case files and *_test.lua "
        "(default: the nearest config.yaml from the test file up to the rootdir, else built-in defaults)",
    )
    group.addoption(
        "--murano-live", action="store_true", default=False,
        help="allow a config.yaml found beside the tests to use a service's live backend "
        "(services.<alias>.backend: live, the real service)",
    )
    coverage.add_options(group)
    parser.addini("murano_config", "base config.yaml for murano-sim tests, relative to the ini file", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "murano(config=None, env=None, limits=None, seed=None): configure the murano fixture for a test"
    )
    config.addinivalue_line(
        "markers", "murano_cassette(name): record/replay a live service's HTTP in cassettes/<name> beside the test"
    )
    settings = Settings(
        rootpath=Path(config.rootpath),
        config_path=_config_path(config),
        live_allowed=bool(config.getoption("murano_live")),
        snapshot_update=bool(config.getoption("murano_snapshot_update")),
    )
    if settings.config_path is not None:
        try:
            settings.base()  # a wrong --murano-config stops the session with one line, before any test
        except MuranoSimError as exc:
            raise pytest.UsageError(str(exc)) from None
    config.stash[SETTINGS_KEY] = settings
    coverage.configure(config)


def _config_path(config: pytest.Config) -> Path | None:
    given = config.getoption("murano_config")
    if given:
        return Path(config.invocation_params.dir) / given
    ini = str(config.getini("murano_config") or "")
    if ini:
        base = Path(config.inipath).parent if config.inipath else Path(config.rootpath)
        return base / ini
    return None


def pytest_unconfigure(config: pytest.Config) -> None:
    if SETTINGS_KEY in config.stash:
        settings_of(config).close()
    coverage.unconfigure(config)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if is_case_file(file_path):
        return CaseFile.from_parent(parent, path=file_path)
    if is_lua_test_file(file_path):
        return LuaTestFile.from_parent(parent, path=file_path)
    return None


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if SETTINGS_KEY not in config.stash:
        return
    settings = settings_of(config)
    if settings.snapshot_update:
        for path in set(settings.snapshots_unused):
            path.unlink(missing_ok=True)  # under xdist every worker saw the same ones
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller prints the summary
        workeroutput[WORKER_OUTPUT_KEY] = {
            "written": [str(p) for p in settings.snapshots_written],
            "unused": [str(p) for p in settings.snapshots_unused],
        }
        coverage.worker_output(config, workeroutput)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    """xdist's controller: gather what each worker wrote and found (see pytest_sessionfinish)."""
    output = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY)
    config = getattr(node, "config", None)
    if config is not None:
        coverage.merge_worker(config, getattr(node, "workeroutput", {}))
    if not output or config is None or SETTINGS_KEY not in config.stash:
        return
    settings = settings_of(config)
    settings.snapshots_written.extend(Path(p) for p in output["written"])
    settings.snapshots_unused.extend(Path(p) for p in output["unused"])


def pytest_report_header(config: pytest.Config) -> str | None:
    path = settings_of(config).config_path
    return f"murano-sim: base config {path}" if path else None


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if SETTINGS_KEY not in config.stash:
        return
    coverage.report(config, terminalreporter.write_line)
    settings = settings_of(config)
    written, unused = set(settings.snapshots_written), sorted(set(settings.snapshots_unused))
    if written:
        terminalreporter.write_line(f"murano-sim: {len(written)} snapshot(s) written")
    if unused and settings.snapshot_update:
        terminalreporter.write_line(f"murano-sim: {len(unused)} unused snapshot(s) removed")
    elif unused:
        terminalreporter.write_line(
            f"murano-sim: {len(unused)} unused snapshot(s), no case of their file has that name "
            "(--murano-snapshot-update removes them):"
        )
        for path in unused:
            terminalreporter.write_line(f"  {_shown(path, settings.rootpath)}")


def _shown(path: Path, rootpath: Path) -> str:
    try:
        return path.relative_to(rootpath).as_posix()
    except ValueError:
        return str(path)
