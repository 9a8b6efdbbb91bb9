"""Results and errors shaped as Murano solutions read them (issue 22): an operation a service does
not emulate is the dispatcher's error table naming it, never Lua's "attempt to call field"."""

from __future__ import annotations

from murano_sim import Runtime


def test_an_operation_murano_has_but_we_do_not_emulate_is_a_named_error_table() -> None:
    with Runtime() as rt:
        result = rt.run("""
            local ret = User.getSocialLoginUrl{consumer = "google"}
            return {ret = ret, listed = rawget(User, "getSocialLoginUrl") ~= nil}
        """)
    assert result.error is None, result.error
    ret = result.response.message["ret"]
    assert ret["error"].startswith("User.getSocialLoginUrl is not emulated by murano-sim")
    assert (ret["status"], ret["status_code"], ret["type"]) == (404, 404, "QueryError")
    assert result.response.message["listed"] is False  # pairs/rawget still list only what is emulated
    assert result.calls[0]["operation"] == "getSocialLoginUrl" and result.calls[0]["status"] == 404


def test_the_generic_call_forms_say_the_same() -> None:
    with Runtime() as rt:
        result = rt.run("""
            local a = murano.service_call("keystore", "scan", {match = "a"})
            local b = murano.services.keystore.scan{match = "a"}
            return {a = a.error, b = b.error, set = (Keystore.set{key = "k", value = 1} or {}).error == nil}
        """)
    assert result.error is None, result.error
    got = result.response.message
    assert got["a"] == got["b"] and got["a"].startswith("Keystore.scan is not emulated by murano-sim")
    assert got["set"] is True  # emulated operations are untouched
