"""CLI conventions through the real command: `python -m murano_sim`, exit 130 on Ctrl-C, the exit codes
in --help, usage errors that name the subcommand's help, `check` reading config.yaml, declared imports."""

from __future__ import annotations

import ast
import errno
import os
import signal
import subprocess
import sys
import time
from importlib.metadata import distributions, packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, before it joined the standard library
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "scripts" / "example-solution"


def murano_sim(*args: str, cwd: Path = ROOT, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MURANO_SIM_TRUST", None)
    return subprocess.run([sys.executable, "-m", "murano_sim", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, input=stdin, timeout=120)


def test_python_dash_m_runs_the_command():
    proc = murano_sim("run", "-", stdin='response.message = "from -m"')
    assert proc.returncode == 0, proc.stderr
    assert '"message": "from -m"' in proc.stdout
    assert murano_sim("--version").stdout.startswith("murano-sim ")


def test_help_documents_every_exit_status():
    out = murano_sim("--help").stdout
    for line in ("  0    done", "  1    the script failed", "  2    a usage or configuration error",
                 "  3    an internal error", "  130  interrupted by Ctrl-C"):
        assert line in out


@pytest.mark.parametrize("args, help_of", [
    (["check"], "murano-sim check"),
    (["check", str(EXAMPLE), "--bogus"], "murano-sim check"),
    (["serve", str(EXAMPLE), "--port", "x"], "murano-sim serve"),
    (["run"], "murano-sim run"),
    (["nosuchcommand"], "murano-sim"),
])
def test_usage_errors_name_the_subcommands_help(args, help_of):
    proc = murano_sim(*args)
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1
    assert proc.stderr.rstrip().endswith(f"(see {help_of} --help)")


def test_ctrl_c_exits_130_without_a_traceback(tmp_path):
    # The command blocks opening a FIFO for its --request: once our open succeeds it is inside the command.
    fifo = tmp_path / "request.json"
    os.mkfifo(fifo)
    script = tmp_path / "s.lua"
    script.write_text("response.message = 'x'\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "murano_sim", "run", str(script), "--request", f"@{fifo}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    writer = None
    try:
        while writer is None and proc.poll() is None:
            try:
                writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno != errno.ENXIO:  # ENXIO: no reader yet
                    raise
                time.sleep(0.05)
        assert writer is not None, proc.communicate()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if writer is not None:
            os.close(writer)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert err.strip() == "murano-sim: interrupted" and out == ""


def _solution_with_config(tmp_path: Path, text: str) -> Path:
    solution = tmp_path / "solution"
    (solution / "endpoints").mkdir(parents=True)
    (solution / "endpoints" / "hello.lua").write_text("--#ENDPOINT GET /hello\nreturn 'hi'\n")
    (solution / "config.yaml").write_text(text)
    return solution


@pytest.mark.parametrize("text, line, problem", [
    ('env:\n  A: "1"\nemulatr:\n  owned_numbers: []\n', 3, "unknown key 'emulatr' (did you mean 'emulator'?)"),
    ("env: [\n", 2, "did not find expected node content"),
    ('env:\n\tA: "1"\n', 2, "a tab: YAML indents with spaces only"),
])
def test_check_reports_a_bad_config_yaml_with_file_and_line(tmp_path, text, line, problem):
    _solution_with_config(tmp_path, text)
    proc = murano_sim("check", "solution", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith(f"murano-sim: solution/config.yaml:{line}: ")
    assert problem in proc.stderr and len(proc.stderr.splitlines()) == 1
    # serve reads the same file the same way, and says the same
    served = murano_sim("serve", "solution", "--port", "0", cwd=tmp_path)
    assert served.returncode == 2 and served.stderr == proc.stderr


def test_check_takes_config_and_a_good_one_passes(tmp_path):
    solution = _solution_with_config(tmp_path, "emulatr: {}\n")
    good = tmp_path / "good.yaml"
    good.write_text('env:\n  A: "1"\n')
    assert murano_sim("check", str(solution)).returncode == 2
    proc = murano_sim("check", str(solution), "--config", str(good))
    assert proc.returncode == 0, proc.stderr
    assert "endpoints: 1" in proc.stdout


def test_check_trust_has_effect_on_the_config(tmp_path):
    solution = _solution_with_config(tmp_path, "env:\n  KEY: ${D24_SOME_VAR}\n")
    untrusted = murano_sim("check", str(solution))
    assert untrusted.returncode == 0
    assert "not trusted, so ignored: ${D24_SOME_VAR}" in untrusted.stderr
    trusted = murano_sim("check", str(solution), "--trust")
    assert trusted.returncode == 0 and "not trusted" not in trusted.stderr


def _imported_top_levels() -> set[str]:
    names = set()
    for path in (ROOT / "murano_sim").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def _owners_by_files(name: str) -> list[str]:
    """The distributions whose files hold the top-level package `name` (Python 3.10's packages_distributions
    reads only top_level.txt, which wheels built by hatchling, such as paho-mqtt's, do not have)."""
    return [dist.metadata["Name"] for dist in distributions()
            if any(file.parts and file.parts[0] == name for file in dist.files or ())]


def test_every_third_party_import_of_the_package_is_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {Requirement(r).name.lower().replace("_", "-") for r in project["dependencies"]}
    declared |= {Requirement(r).name.lower().replace("_", "-")
                 for extra in project["optional-dependencies"].values() for r in extra}
    owners_of = packages_distributions()
    missing = set()
    for name in _imported_top_levels() - set(sys.stdlib_module_names) - {"murano_sim"}:
        owners = {d.lower().replace("_", "-") for d in owners_of.get(name) or _owners_by_files(name) or [name]}
        if not owners & declared:
            missing.add(name)
    assert not missing, f"imported but not declared in pyproject.toml: {sorted(missing)}"
    assert "urllib3" in {Requirement(r).name for r in project["dependencies"]}  # a runtime import, not test-only
