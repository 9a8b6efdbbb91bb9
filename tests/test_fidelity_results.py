"""Results and errors shaped as Murano solutions read them (issue 22): an operation a service does
not emulate is the dispatcher's error table naming it, never Lua's "attempt to call field"."""

from __future__ import annotations

import json

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


SIGN_UP = """
local code = User.createUser{name = "Ann", email = "ann@example.com", password = "Tr0ub4dor&3-unique"}
User.activateUser{code = code}
local id = User.listUsers{filter = {"email::like::ann@example.com"}}[1].id
local role = User.createRole{role_id = "owner", parameter = {{name = "sn"}}}
local assigned = User.assignUser{id = id, roles = {{role_id = "owner", parameters = {{name = "sn", value = "1"}}}}}
local dup = User.createUser{name = "Ann", email = "ann@example.com", password = "Tr0ub4dor&3-unique"}
User.createUser{name = "Bob", email = "bob@example.com", password = "Tr0ub4dor&3-unique"}
local inactive = User.getUserToken{email = "bob@example.com", password = "Tr0ub4dor&3-unique"}
return {role = role == nil and "nil" or role, assigned = assigned == nil and "nil" or assigned,
        dup = dup, inactive = inactive, dup_message = from_json(dup.error).message}
"""


def user_results(era: int | None) -> dict:
    config: dict = {"services": {"user": {"hash_iterations": 1000}}}
    if era is not None:
        config["era"] = era
    with Runtime(config) as rt:
        result = rt.run(SIGN_UP)
    assert result.error is None, result.error
    return result.response.message


def test_a_2016_solution_gets_nil_for_no_content_and_400_for_a_duplicate_or_inactive_user() -> None:
    got = user_results(2016)
    # 2016-2019 code reads any status as an error (`if resp ~= nil and resp.status ~= nil`): success is nil
    assert got["role"] == "nil" and got["assigned"] == "nil"
    # the 2016 solution's own tests, written against the platform, expect 400 for both
    assert (got["dup"]["status"], got["dup"]["status_code"], got["dup"]["type"]) == (400, 400, "QueryError")
    assert (got["inactive"]["status"], got["inactive"]["status_code"]) == (400, 400)
    assert got["dup_message"] == got["dup"]["message"] == "a user with email ann@example.com already exists"
    later = user_results(2019)  # the last era of nil successes; by then duplicates were 409
    assert later["assigned"] == "nil" and later["dup"]["status"] == 409


def test_the_current_platform_gives_the_204_table_and_409_403() -> None:
    for got in (user_results(None), user_results(2021)):
        assert got["role"] == {"status": 204, "status_code": 204} and got["assigned"] == got["role"]
        assert got["dup"]["status"] == 409 and got["inactive"]["status"] == 403
        assert got["dup_message"] == "a user with email ann@example.com already exists"
        assert json.loads(got["inactive"]["error"])["message"] == "the user is not active"


CONNECTOR_AUTH = """
local auth = {}
local function getDomain()
  local config = Config.getParameters({service = "webservice"})
  return config and config.parameters and config.parameters.domain
end
function auth.setToken()
  local token = "t-" .. tostring(os.time())
  local url = 'https://' .. getDomain() .. '/c2c/callback?token=' .. token
  Keystore.set{key = "callback", value = to_json({token = token, url = url})}
end
function auth.getPeer(request)
  local saved = from_json(Keystore.get{key = "callback"}.value)
  if saved and request.parameters.token == saved.token then return "ok" end
end
return auth
"""

CALLBACK = """--#ENDPOINT GET /c2c/callback
if require("c2c.auth").getPeer(request) ~= "ok" then
  response.code = 401
  return "unauthorized"
end
return from_json(Keystore.get{key = "callback"}.value)
"""


def test_the_2020_connector_init_builds_its_callback_url_from_the_webservice_domain(murano_solution, tmp_path):
    # modelled on Exosite's cloud-to-cloud templates (modules/c2c/authentication.lua, init.lua)
    (tmp_path / "murano.yaml").write_text("formatversion: 1.0.0\ninit_script: init.lua\n")
    (tmp_path / "init.lua").write_text('require("c2c.auth").setToken()\n')
    (tmp_path / "modules" / "c2c").mkdir(parents=True)
    (tmp_path / "modules" / "c2c" / "auth.lua").write_text(CONNECTOR_AUTH)
    (tmp_path / "endpoints").mkdir()
    (tmp_path / "endpoints" / "callback.lua").write_text(CALLBACK)
    served = murano_solution(tmp_path)
    assert served.get("/c2c/callback").status_code == 401  # init ran: the token check is in force
    domain = served.runtime.run("return Config.solution().domain").response.message
    saved = served.get("/c2c/callback?token=nope")
    assert saved.status_code == 401
    token = served.runtime.run('return from_json(Keystore.get{key = "callback"}.value).token').response.message
    ok = served.get(f"/c2c/callback?token={token}")
    assert ok.status_code == 200 and ok.json()["url"] == f"https://{domain}/c2c/callback?token={token}"


def test_response_code_nil_is_the_default_200(murano_solution, tmp_path) -> None:
    # code's default is 200 ([SG17], [SVC16b]); setting it nil removes the field, so the default answers
    with Runtime() as rt:
        result = rt.run('response.code = nil\nresponse.message = "fine"')
    assert result.error is None and result.response.code == 200 and result.response.message == "fine"
    (tmp_path / "endpoints").mkdir()
    (tmp_path / "endpoints" / "nil.lua").write_text('--#ENDPOINT GET /nil\nresponse.code = nil\nreturn "fine"\n')
    reply = murano_solution(tmp_path).get("/nil")
    assert (reply.status_code, reply.text) == (200, "fine")
