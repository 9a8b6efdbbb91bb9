"""pytest-xdist: case files, Lua tests, fixtures and snapshot updates work across worker processes."""

from __future__ import annotations

import json

from plugin_support import inner_sessions_without_unrelated_plugins  # noqa: F401 - autouse fixture

pytest_plugins = ["pytester"]

CASE = """\
  - name: case {n}
    snapshot: true
    request: {{body: {{n: {n}}}}}
    expect:
      message_subset: {{count: 1, body: "n={n}"}}
"""
SCRIPT = """\
local out = Twilio.postMessage({To = "+15551234567", From = "+15005550006", Body = "n=" .. request.body.n})
return {count = #Twilio.listMessage({}).messages, body = out.body, sid = out.sid}
"""


def test_mixed_suite_passes_on_two_workers_with_isolated_state(pytester):
    pytester.makefile(".lua", send=SCRIPT)
    cases = "".join(CASE.format(n=n) for n in range(30))
    pytester.makefile(".murano.yaml", test_many="script: send.lua\ncases:\n" + cases)
    pytester.makefile(".lua", iso_test="\n".join(
        f'function test_{n}() assert_ok(Twilio.postMessage({{To = "+15551234567", From = "+15005550006", '
        f'Body = "x"}})) assert_equal(#Twilio.listMessage({{}}).messages, 1) end' for n in range(10)
    ))
    pytester.makepyfile(test_fixtures="""
        import pytest

        @pytest.mark.parametrize("n", range(10))
        def test_fresh(murano, twilio, n):
            assert twilio.messages == []
            murano.run('Twilio.postMessage({To = "+15551234567", From = "+15005550006", Body = "x"})')
            assert len(twilio.messages) == 1
    """)

    update = pytester.runpytest_subprocess("-n", "2", "--murano-snapshot-update", "-v")
    update.assert_outcomes(passed=50)
    output = update.stdout.str()
    assert "[gw0]" in output and "[gw1]" in output
    snapshots = sorted((pytester.path / "test_many.snapshots").iterdir())
    assert len(snapshots) == 30
    assert json.loads(snapshots[0].read_text())["response"]["message"]["sid"] == "<SM1>"

    pytester.runpytest_subprocess("-n", "2").assert_outcomes(passed=50)


def test_failure_report_travels_back_from_a_worker(pytester):
    pytester.makefile(".lua", w_test="function test_fails()\n  assert_equal(1, 2)\nend\n")
    result = pytester.runpytest_subprocess("-n", "2")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["w_test.lua:2: assert_equal failed: expected 2, got 1"])


def test_n_auto_is_accepted(pytester):
    pytester.makefile(".murano.yaml", test_one="- name: one\n  source: return 1\n  expect: {message: 1}\n")
    pytester.runpytest_subprocess("-n", "auto").assert_outcomes(passed=1)


def test_snapshot_summary_comes_back_from_the_workers(pytester):
    pytester.makefile(".lua", send=SCRIPT)
    cases = "".join(CASE.format(n=n) for n in range(6))
    pytester.makefile(".murano.yaml", test_many="script: send.lua\ncases:\n" + cases)
    update = pytester.runpytest_subprocess("-n", "2", "--murano-snapshot-update")
    update.stdout.fnmatch_lines(["murano-sim: 6 snapshot(s) written"])

    renamed = cases.replace("case 5", "case 9")
    (pytester.path / "test_many.murano.yaml").write_text("script: send.lua\ncases:\n" + renamed)
    report = pytester.runpytest_subprocess("-n", "2")
    report.stdout.fnmatch_lines(["murano-sim: 1 unused snapshot(s)*", "  test_many.snapshots/case_5.json"])
    update = pytester.runpytest_subprocess("-n", "2", "--murano-snapshot-update")
    update.stdout.fnmatch_lines(["murano-sim: 1 snapshot(s) written", "murano-sim: 1 unused snapshot(s) removed"])
    assert not (pytester.path / "test_many.snapshots" / "case_5.json").exists()
