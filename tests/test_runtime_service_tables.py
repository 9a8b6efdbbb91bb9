"""A run's service tables are built on first use (sandbox.lua): no script can tell when.

Each probe is run twice: as the first thing to touch the service's table, and after an ordinary
read has built it. Both must answer the same, and that answer is the one a table of functions gives.
"""

from __future__ import annotations

import pytest

BUILT_FIRST = "local _ = Twilio.postMessage\n"

PROBES = [
    # what the raw functions see
    ("local n = 0 for _ in pairs(Twilio) do n = n + 1 end return n > 5", True),
    ("return type(next(Twilio))", "string"),
    ("return type(rawget(Twilio, 'postMessage'))", "function"),
    ("local n = 0 table.foreach(Twilio, function() n = n + 1 end) return n > 5", True),
    ("return type(getmetatable(Twilio).__index)", "function"),
    ("setmetatable(Twilio, {}) return type(rawget(Twilio, 'postMessage'))", "function"),
    ("rawset(Twilio, 'postMessage', nil) return tostring(Twilio.postMessage)", "nil"),
    ("rawset(Twilio, 'extra', 1) return Twilio.extra + (twilio.extra or 0)", 2),  # one table, both names
    ("Twilio.postMessage = nil return tostring(rawget(Twilio, 'postMessage'))", "nil"),
    ("Twilio[1] = 'x' return #Twilio .. type(Twilio.postMessage)", "1function"),
    ("return type(Twilio.notAnOperation)", "function"),  # the dispatcher answers it
    ("return murano.services.twilio == Twilio", True),
    # what the host sees when it converts one
    ("local ok, err = to_json(Twilio) return tostring(ok) .. ' ' .. tostring(err)",
     "nil to_json: cannot convert a function value"),
    ("return Keystore.set({key = 'k', value = Twilio}).error", "arguments: cannot convert a function value"),
]


@pytest.mark.parametrize("probe, expected", PROBES)
def test_a_service_table_reads_the_same_before_and_after_it_is_built(runtime, probe, expected):
    first = runtime.run(probe)
    built = runtime.run(BUILT_FIRST + probe)
    assert first.error is None and built.error is None, (first.error, built.error)
    assert first.response.message == built.response.message == expected


def test_the_response_and_print_render_an_unbuilt_table_in_full(runtime):
    shown = runtime.run("print(Timer) response.message = Config")
    assert shown.error is None, shown.error
    assert shown.logs and "schedule:<function>" in shown.logs[0]
    assert shown.response.message.get("getParameters") == "<function>"

