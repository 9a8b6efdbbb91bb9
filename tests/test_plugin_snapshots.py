"""Snapshots: --murano-snapshot-update writes <case file>.snapshots/<case>.json; later runs compare."""

from __future__ import annotations

import json

import pytest
from plugin_support import inner_sessions_without_unrelated_plugins  # noqa: F401 - autouse fixture

from murano_sim.runtime.result import Response, ScriptResult
from murano_sim.testing.snapshots import normalise, snapshot_of, snapshot_path

pytest_plugins = ["pytester"]

SCRIPT = """\
local out = Twilio.postMessage({To = "+15551234567", From = "+15005550006", Body = os.getenv("TEXT") or "hello"})
return {sid = out.sid, created = out.date_created, status = out.status}
"""
CASES = """\
script: send.lua
cases:
  - name: sends hello
    snapshot: true
  - name: not snapshotted
    expect: {code: 200}
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".lua", send=SCRIPT)
    pytester.makefile(".murano.yaml", test_send=CASES)
    return pytester


def test_update_writes_one_json_per_snapshotted_case(project):
    result = project.runpytest("--murano-snapshot-update")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["murano-sim: 1 snapshot(s) written"])
    files = sorted(p.name for p in (project.path / "test_send.snapshots").iterdir())
    assert files == ["sends_hello.json"]
    stored = json.loads((project.path / "test_send.snapshots" / "sends_hello.json").read_text())
    assert stored["response"]["message"] == {"sid": "<SM1>", "created": "<date>", "status": "queued"}
    assert stored["calls"] == [{"operation": "postMessage", "status": 201, "arguments": {
        "To": "+15551234567", "From": "+15005550006", "Body": "hello"}}]


def test_later_runs_compare_and_pass_despite_new_sids_and_dates(project):
    project.runpytest("--murano-snapshot-update").assert_outcomes(passed=2)
    project.runpytest().assert_outcomes(passed=2)


def test_a_changed_response_fails_with_a_diff(project):
    project.runpytest("--murano-snapshot-update")
    (project.path / "send.lua").write_text(SCRIPT.replace('"hello"', '"goodbye"'))
    result = project.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "snapshot: differs from sends_hello.json (update with --murano-snapshot-update)",
        '-        "Body": "hello",',
        '+        "Body": "goodbye",',
    ])


def test_a_missing_snapshot_fails_and_says_how_to_write_it(project):
    result = project.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["snapshot: no snapshot at *sends_hello.json; run pytest --murano-snapshot-update"])


def test_update_leaves_a_current_snapshot_untouched(project):
    project.runpytest("--murano-snapshot-update")
    path = project.path / "test_send.snapshots" / "sends_hello.json"
    before = path.stat().st_mtime_ns
    result = project.runpytest("--murano-snapshot-update")
    assert "snapshot(s) written" not in result.stdout.str()
    assert path.stat().st_mtime_ns == before


def test_murano_snapshot_fixture_in_python_tests(pytester):
    pytester.makepyfile(test_snap="""
        def test_result(murano, murano_snapshot):
            murano_snapshot(murano.run("return {a = 1}"))

        def test_value_with_label(murano_snapshot):
            murano_snapshot({"b": 2}, "second")
    """)
    pytester.runpytest("--murano-snapshot-update").assert_outcomes(passed=2)
    assert sorted(p.name for p in (pytester.path / "test_snap.snapshots").iterdir()) == [
        "test_result.json", "test_value_with_label-second.json"
    ]
    pytester.runpytest().assert_outcomes(passed=2)
    (pytester.path / "test_snap.py").write_text(
        (pytester.path / "test_snap.py").read_text().replace('{"b": 2}', '{"b": 3}')
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*snapshot 'test_value_with_label-second' failed:*"])


def test_normalise_numbers_sids_by_first_appearance_and_masks_dates():
    sid_a, sid_b = "SM" + "a" * 32, "SM" + "b" * 32
    value = {"x": [sid_a, sid_b, sid_a], "uri": f"/Messages/{sid_b}.json", "call": "CA" + "c" * 32,
             "account": "AC" + "d" * 32, "when": "Fri, 27 Nov 2026 03:10:10 +0000"}
    assert normalise(value) == {"x": ["<SM1>", "<SM2>", "<SM1>"], "uri": "/Messages/<SM2>.json", "call": "<CA1>",
                                "account": "AC" + "d" * 32, "when": "<date>"}


def test_snapshot_of_leaves_out_timings_and_logs():
    result = ScriptResult(Response(201, "ok", {"b": "2", "a": "1"}), ["log line"],
                          [{"service": "twilio", "operation": "getMessage", "arguments": {}, "status": 200,
                            "result": {}, "duration_ms": 3.2}])
    assert snapshot_of(result) == {
        "response": {"code": 201, "headers": {"a": "1", "b": "2"}, "message": "ok"},
        "calls": [{"operation": "getMessage", "arguments": {}, "status": 200}],
        "error": None,
    }


def test_snapshot_path_is_file_safe(tmp_path):
    path = snapshot_path(tmp_path / "test_x.murano.yaml", "sends: a/b message?")
    assert path == tmp_path / "test_x.snapshots" / "sends_a_b_message.json"


def test_snapshots_of_renamed_cases_are_reported_then_removed_by_update(project):
    project.runpytest("--murano-snapshot-update").assert_outcomes(passed=2)
    (project.path / "test_send.murano.yaml").write_text(CASES.replace("sends hello", "greets"))
    kept = project.path / "test_send.snapshots" / "sends_hello.json"

    result = project.runpytest()
    result.assert_outcomes(passed=1, failed=1)  # `greets` has no snapshot yet
    result.stdout.fnmatch_lines([
        "murano-sim: 1 unused snapshot(s), no case of their file has that name "
        "(--murano-snapshot-update removes them):",
        "  test_send.snapshots/sends_hello.json",
    ])
    assert kept.is_file()  # only reported: nothing is deleted without the update flag

    result = project.runpytest("--murano-snapshot-update")
    result.stdout.fnmatch_lines(["murano-sim: 1 snapshot(s) written", "murano-sim: 1 unused snapshot(s) removed"])
    assert sorted(p.name for p in (project.path / "test_send.snapshots").iterdir()) == ["greets.json"]
    assert "unused" not in project.runpytest().stdout.str()


def test_a_python_test_file_sharing_the_snapshot_folder_is_never_judged(project):
    project.runpytest("--murano-snapshot-update")
    project.makepyfile(test_send="""
        def test_value(murano_snapshot):
            murano_snapshot({"answer": 42})
    """)
    project.runpytest("--murano-snapshot-update").assert_outcomes(passed=3)
    result = project.runpytest()
    result.assert_outcomes(passed=3)
    assert "unused" not in result.stdout.str()
    assert (project.path / "test_send.snapshots" / "test_value.json").is_file()
