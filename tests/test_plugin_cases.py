"""The plugin collects test_*.murano.yaml case files; inner pytest sessions run them (pytester)."""

from __future__ import annotations

import pytest
from plugin_support import inner_sessions_without_unrelated_plugins  # noqa: F401 - autouse fixture

pytest_plugins = ["pytester"]

SEND = """\
local out = Twilio.postMessage({To = request.body.to, From = "+15005550006", Body = request.body.text or "hi"})
if out.error then
  response.code = 502
  print("refused: " .. out.error)
  return {error = out.error, status = out.status}
end
print("sent " .. out.sid)
response.code = 201
response.headers["x-sid"] = out.sid
return {sid = out.sid, status = out.status, segments = out.num_segments}
"""


@pytest.fixture
def solution(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".lua", send=SEND)
    return pytester


def write_cases(pytester: pytest.Pytester, text: str, name: str = "test_send") -> None:
    pytester.makefile(".murano.yaml", **{name: text})


def test_passing_and_failing_cases_are_counted(solution):
    write_cases(solution, """
- name: sends
  script: send.lua
  request: {method: POST, body: {to: "+15551234567"}}
  expect: {code: 201, message_subset: {status: queued}}
- name: wrong code
  script: send.lua
  request: {method: POST, body: {to: "+15551234567"}}
  expect: {code: 200}
""")
    result = solution.runpytest("-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_send.murano.yaml::sends PASSED*", "*test_send.murano.yaml::wrong code FAILED*"])


def test_failure_prints_a_diff_of_expected_against_actual_calls(solution):
    write_cases(solution, """
cases:
  - name: wrong recipient
    script: send.lua
    request: {method: POST, body: {to: "+15551234567"}}
    expect:
      calls: [{operation: postMessage, arguments: {To: "+15550000000"}}]
""")
    result = solution.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "case 'wrong recipient' (test_send.murano.yaml:2) failed:",
        "calls: a call differs",
        "--- expected",
        "+++ actual",
        '-      "To": "+15550000000"',
        '+      "To": "+15551234567"',
        "logs:",
        "  sent SM*",
    ])
    assert "Traceback" not in result.stdout.str()


def test_scalar_mismatch_is_one_line(solution):
    write_cases(solution, """
- name: code
  script: send.lua
  request: {body: {to: "+15551234567"}}
  expect: {code: 200}
""")
    result = solution.runpytest()
    result.stdout.fnmatch_lines(["response.code: expected 200, got 201"])


def test_exact_message_headers_and_logs(solution):
    write_cases(solution, """
- name: exact
  source: |
    response.headers["X-Kind"] = "demo"
    print("one")
    print("two")
    return {a = 1, b = {"x", "y"}}
  expect:
    code: 200
    message: {a: 1, b: [x, y]}
    headers: {x-kind: demo, content-type: application/json}
    logs: [one, two]
- name: exact message differs
  source: return {a = 1, b = 2}
  expect:
    message: {a: 1}
""")
    result = solution.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["response.message:", '+  "b": 2'])


def test_unexpected_script_error_fails_the_case_with_file_and_line(solution):
    solution.makefile(".lua", broken="local x = nil\nreturn x.field\n")
    write_cases(solution, "- name: broken\n  script: broken.lua\n")
    result = solution.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["error: the script failed expected null, got \"broken.lua:2: *\""])


def test_expected_error_is_matched_by_substring(solution):
    write_cases(solution, """
- name: expected failure
  source: error("no device")
  expect: {code: 500, error: no device}
- name: missing expected failure
  source: return 1
  expect: {error: no device}
""")
    result = solution.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["error: expected an error containing the text expected \"no device\", got null"])


def test_each_case_gets_its_own_seeded_emulator(solution):
    solution.makefile(".yaml", seed="messages:\n  - {From: '+15005550006', To: '+15551230000', Body: from file}\n")
    write_cases(solution, """
source: |
  local page = Twilio.listMessage({})
  local bodies = {}
  for i, m in ipairs(page.messages) do bodies[i] = m.body end
  return bodies
cases:
  - name: inline seed
    seed: {messages: [{From: "+15005550006", To: "+15551234567", Body: seeded}]}
    expect: {message: [seeded]}
  - name: seed file relative to the case file
    seed: seed.yaml
    expect: {message: [from file]}
  - name: no seed
    source: |
      Twilio.postMessage({To = "+15551234567", From = "+15005550006", Body = "mine"})
      return #Twilio.listMessage({}).messages
    expect: {message: 1}
""")
    solution.runpytest().assert_outcomes(passed=3)


def test_file_defaults_env_and_config_overrides(solution):
    write_cases(solution, """
env: {GREETING: hello}
source: return os.getenv("GREETING") .. " " .. tostring(os.getenv("NAME"))
cases:
  - name: file level env
    expect: {message: hello nil}
  - name: case env adds to it
    env: {NAME: ada}
    expect: {message: hello ada}
  - name: config mapping
    config: {env: {NAME: grace}}
    expect: {message: hello grace}
  - name: lua limits
    limits: {max_instructions: 1000}
    source: "while true do end"
    expect: {error: instruction limit exceeded}
""")
    solution.runpytest().assert_outcomes(passed=4)


def test_config_file_named_by_a_case(solution):
    solution.makefile(".yaml", other="env:\n  NAME: from-config-file\n")
    write_cases(solution, """
- name: config file
  config: other.yaml
  source: return os.getenv("NAME")
  expect: {message: from-config-file}
""")
    solution.runpytest().assert_outcomes(passed=1)


def test_fail_next_injects_a_twilio_error(solution):
    write_cases(solution, """
- name: twilio down
  script: send.lua
  request: {body: {to: "+15551234567"}}
  fail_next: {status: 500, code: 20500}
  expect:
    code: 502
    message_subset: {status: 500}
    calls: [{operation: postMessage, status: 500}]
    logs_contain: ["refused:"]
""")
    solution.runpytest().assert_outcomes(passed=1)


def test_call_count_mismatch_is_reported(solution):
    write_cases(solution, """
- name: two calls expected
  script: send.lua
  request: {body: {to: "+15551234567"}}
  expect:
    calls: [{operation: postMessage}, {operation: listMessage}]
""")
    result = solution.runpytest()
    result.stdout.fnmatch_lines(["calls: expected 2 call(s), got 1"])


def test_require_finds_the_solution_modules_folder(solution):
    solution.mkdir("modules")
    (solution.path / "modules" / "greet.lua").write_text("return {hello = function(n) return 'hi ' .. n end}\n")
    write_cases(solution, """
- name: uses a module
  source: return require("modules.greet").hello("ada")
  expect: {message: hi ada}
""")
    solution.runpytest().assert_outcomes(passed=1)


def test_skip_marks_the_case_skipped(solution):
    write_cases(solution, "- name: later\n  source: return 1\n  skip: not written yet\n")
    solution.runpytest("-rs").stdout.fnmatch_lines(["*not written yet*"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- name: x\n  source: return 1\n  expct: {}\n", "test_bad.murano.yaml:1: case 'x': unknown key 'expct'"),
        ("- source: return 1\n", "test_bad.murano.yaml:1: case 1 needs a `name`"),
        ("- name: x\n  script: missing.lua\n", "test_bad.murano.yaml:1: case 'x': cannot read script missing.lua"),
        ("- name: x\n  source: return 1\n- name: x\n  source: return 2\n", "*case name 'x' is used twice*"),
        ("- name: x\n  source: return 1\n  expect: {codes: 1}\n", "*unknown expect key 'codes'*"),
        ("cases: {}\n", "*`cases:` must be a list of cases"),
        ("- name: x\n  source: [\n", "test_bad.murano.yaml:*"),
    ],
)
def test_malformed_case_file_is_one_clear_collection_error(pytester, text, message):
    pytester.makefile(".murano.yaml", test_bad=text)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*" + message + "*"])
    assert "Traceback" not in result.stdout.str()


def test_only_test_prefixed_murano_yaml_files_are_collected(pytester):
    pytester.makefile(".murano.yaml", cases="- name: not collected\n  source: return 1\n")
    pytester.makefile(".yaml", test_plain="- name: not collected\n  source: return 1\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_a_case_can_target_a_whole_solution_over_http(pytester):
    import shutil
    from pathlib import Path

    shutil.copytree(Path(__file__).parent / "solutions" / "runtime", pytester.path / "app")
    write_cases(pytester, """
solution: app
cases:
  - name: created
    request: {method: POST, path: /created, json: {name: ada}}
    expect: {code: 201, message: {id: ada}}
  - name: locked
    request: {method: GET, path: /secure/basic}
    expect: {code: 401}
  - name: boom
    request: {method: GET, path: /boom}
    expect: {code: 500, error: "endpoints/api.lua:32: boom", logs: ["[error] bad thing 7"]}
  - name: wrong
    request: {method: GET, path: /slice}
    expect: {message: {empty: {}}}
""", name="test_app")
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*test_app.murano.yaml::wrong FAILED*"])
