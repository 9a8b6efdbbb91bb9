"""Case files seed and expect service data: keystore, tsdb, users, devices, outbox, advance (pytester)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from plugin_support import inner_sessions_without_unrelated_plugins  # noqa: F401 - autouse fixture

pytest_plugins = ["pytester"]

SOLUTION = Path(__file__).resolve().parent / "solutions" / "case-services"


@pytest.fixture
def app(pytester: pytest.Pytester) -> pytest.Pytester:
    shutil.copytree(SOLUTION, pytester.path / "app")
    return pytester


def run_cases(pytester: pytest.Pytester, text: str) -> pytest.RunResult:
    pytester.makefile(".murano.yaml", test_app=text)
    return pytester.runpytest("-v")


def test_keystore_and_tsdb_are_seeded_and_expected(app):
    result = run_cases(app, """
solution: app
keystore: {count: 41}
cases:
  - name: seeded value is read
    request: {method: GET, path: /count}
    expect: {message: {count: 41}}
  - name: a write is expected
    tsdb: [{metrics: {bumps: 7}, tags: {who: old}, ts: 4102444800s}]
    request: {method: POST, path: /bump, json: {who: ada}}
    expect:
      message: {count: 42}
      keystore: {count: "42", missing: null}
      tsdb:
        - {metrics: {bumps: 42}, tags: {who: ada}}
        - {metrics: {bumps: 7}, tags: {who: old}, ts: 4102444800s}
  - name: wrong keystore value fails
    request: {method: POST, path: /bump, json: {who: ada}}
    expect: {keystore: {count: "1"}}
  - name: a point that is not there fails
    request: {method: POST, path: /bump, json: {who: ada}}
    expect: {tsdb: [{metrics: {bumps: 42}, tags: {who: bob}}]}
""")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(["*wrong keystore value fails FAILED*", "*a point that is not there fails FAILED*"])
    output = result.stdout.str()
    assert "keystore: null means the key is absent" in output
    assert "tsdb: these points are not stored" in output and '"who": "bob"' in output


def test_advance_fires_timers_after_the_request(app):
    result = run_cases(app, """
solution: app
cases:
  - name: timer fired
    request: {method: POST, path: /bump, json: {who: ada}}
    advance: 30
    expect: {message: {count: 1}, keystore: {timer: bumped 1}}
  - name: not yet due
    request: {method: POST, path: /bump, json: {who: ada}}
    advance: 29
    expect: {keystore: {timer: bumped 1}}
""")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*not yet due FAILED*"])


def test_devices_send_data_in_to_the_solution_handlers(app):
    result = run_cases(app, """
solution: app
cases:
  - name: data in without a request
    devices:
      sensor-1: {data_in: [{temp: "20"}, {temp: "21"}]}
      sensor-2:
    expect:
      keystore: {"sensor-1:temp": "21", "sensor-2:temp": null}
      tsdb: [{metrics: {temp: 20}, tags: {identity: sensor-1}}, {metrics: {temp: 21}}]
  - name: each case provisions afresh
    devices: {sensor-1: {}}
    request: {method: GET, path: /count}
    expect: {message: {count: 0}}
  - name: a refused provisioning is a setup failure
    config: {services: {device2: {provisioning: {enabled: false}}}}
    devices: {sensor-1: {}}
    request: {method: GET, path: /count}
""")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*setup failed: devices: provisioning is disabled*"])


def test_users_and_the_outbox(app):
    result = run_cases(app, """
solution: app
users: [{email: ann@example.com, password: s3cret-pw}]
cases:
  - name: invite sends one email
    request: {method: POST, path: /invite, json: {email: ann@example.com, password: s3cret-pw, friend: bo@example.com}}
    expect:
      message: {invited: bo@example.com}
      outbox: [{to: bo@example.com, subject: Join me, text_contains: ann@example.com}]
  - name: wrong password sends nothing
    request: {method: POST, path: /invite, json: {email: ann@example.com, password: nope, friend: bo@example.com}}
    expect: {code: 403, outbox: []}
  - name: outbox mismatch fails
    request: {method: POST, path: /invite, json: {email: ann@example.com, password: s3cret-pw, friend: bo@example.com}}
    expect: {outbox: [{to: someone@example.com}]}
""")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*outbox mismatch fails FAILED*", "*outbox: a message differs*"])


def test_a_script_case_seeds_and_expects_too(pytester):
    pytester.makefile(".murano.yaml", test_script="""
- name: script reads seeds and writes
  keystore: {greeting: hello}
  source: |
    Keystore.set({key = "out", value = Keystore.get({key = "greeting"}).value .. " world"})
    Tsdb.write({metrics = {n = 3}})
    return "ok"
  expect: {message: ok, keystore: {out: hello world}, tsdb: [{metrics: {n: 3}}]}
""")
    pytester.runpytest().assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("  keystore: [1]\n", "*case 'x': keystore must be a mapping*"),
        ("  tsdb: [{tags: {a: b}}]\n", "*case 'x': tsdb?0?: needs `metrics`*"),
        ("  users: [{email: a@b.c}]\n", "*case 'x': users?0?: needs `email` and `password`*"),
        ("  devices: {d1: {data_out: 1}}\n", "*case 'x': devices.d1: unknown key 'data_out'*"),
        ("  advance: soon\n", "*case 'x': advance must be a number of seconds*"),
        ("  expect: {outbox: {to: a}}\n", "*case 'x': expect.outbox must be a list*"),
    ],
)
def test_malformed_service_sections_are_one_clear_error(pytester, text, message):
    pytester.makefile(".murano.yaml", test_bad="- name: x\n  source: return 1\n" + text)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([message])
    assert "Traceback" not in result.stdout.str()


def test_the_case_keys_come_from_the_services_plugins():
    from murano_sim.testing.case_services import EXPECT_SERVICE_KEYS, SEED_KEYS

    assert SEED_KEYS == ("keystore", "tsdb", "users", "devices")  # devices last: their events see the rest
    assert set(EXPECT_SERVICE_KEYS) == {"keystore", "tsdb", "outbox"}


def test_a_case_device_can_write_over_mqtt(app, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(app.path / "data"))  # the local CA is made here
    result = run_cases(app, """
solution: app
cases:
  - name: the same handlers whichever protocol carries the write
    devices:
      sensor-1: {protocol: mqtt, data_in: [{temp: "20"}, {temp: "21"}]}
      sensor-2: {protocol: http, data_in: {temp: "5"}}
    expect:
      keystore: {"sensor-1:temp": "21", "sensor-2:temp": "5"}
      tsdb: [{metrics: {temp: 20}, tags: {identity: sensor-1}}, {metrics: {temp: 21}}, {metrics: {temp: 5}}]
""")
    result.assert_outcomes(passed=1)
    result = run_cases(app, """
solution: app
cases:
  - name: an unknown protocol is named at collection
    devices: {sensor-1: {protocol: coap}}
""")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*devices.sensor-1.protocol: 'coap' is not one of http, mqtt*"])
