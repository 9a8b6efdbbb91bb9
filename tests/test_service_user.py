"""The User service from Lua: the user-management guide's sign-up, activation, login, role and
permission flows, its errors, token expiry on the solution clock, persistence, and that no
password is ever kept or logged in plain text."""

from __future__ import annotations

import json
import logging

from murano_sim import Runtime
from murano_sim.state import State
from murano_sim.state.clock import ManualClock

PASSWORD = "Tr0ub4dor&3-unique"
# Fast hashes for the tests; the hashing itself is the same code.
CONFIG = {"services": {"user": {"hash_iterations": 1000}}}

SIGN_UP = f"""
local code = User.createUser{{name = "Ann", email = "ann@example.com", password = "{PASSWORD}"}}
return code
"""


def runtime(**kwargs) -> Runtime:
    return Runtime(kwargs.pop("config", CONFIG), clock=kwargs.pop("clock", None) or ManualClock(), **kwargs)


def signed_up(rt: Runtime, email: str = "ann@example.com") -> dict:
    """Create, activate and log in one user from Lua; returns {id, token}."""
    result = rt.run(f"""
        local code = User.createUser{{name = "Ann", email = "{email}", password = "{PASSWORD}"}}
        assert(User.activateUser{{code = code}} == "OK")
        local token = User.getUserToken{{email = "{email}", password = "{PASSWORD}"}}
        return {{id = User.getCurrentUser{{token = token}}.id, token = token}}
    """)
    assert result.error is None, result.error
    return result.response.message


def test_sign_up_activation_login_and_current_user_as_in_the_guide():
    with runtime() as rt:
        code = rt.run(SIGN_UP).response.message
        assert isinstance(code, str) and code
        before = rt.run(f'return User.getUserToken{{email = "ann@example.com", password = "{PASSWORD}"}}')
        assert before.response.message["status"] == 403  # not activated yet
        assert rt.run(f'return User.activateUser{{code = "{code}"}}').response.message == "OK"
        result = rt.run(f"""
            local token = User.getUserToken{{email = "ann@example.com", password = "{PASSWORD}"}}
            local user = User.getCurrentUser{{token = token}}
            return {{kind = type(token), user = user}}
        """)
        assert result.response.message["kind"] == "string"
        user = result.response.message["user"]
        assert {k: user[k] for k in ("id", "name", "email", "status")} == {
            "id": 1, "name": "Ann", "email": "ann@example.com", "status": 1}
        assert user["creation_date"].endswith("Z")
        assert "password" not in str(user) and "hash" not in str(user)


def test_the_guide_error_checks_see_error_status_message_and_status_code():
    with runtime() as rt:
        rt.run(SIGN_UP)
        result = rt.run(f"""
            local dup = User.createUser{{name = "Ann", email = "ann@example.com", password = "{PASSWORD}"}}
            local bad = User.activateUser{{code = "nope"}}
            local login = User.getUserToken{{email = "ann@example.com", password = "wrong"}}
            local nobody = User.getUserToken{{email = "nobody@example.com", password = "wrong"}}
            return {{dup = dup, bad_message = bad.message, login = login.error ~= nil,
                     same = login.error == nobody.error, code = dup.code, missing = User.getUser{{id = 99}}}}
        """).response.message
        assert result["dup"]["status"] == 409 and result["dup"]["status_code"] == 409 and result["code"] == 409
        assert result["dup"]["type"] == "QueryError"
        # error: the service's JSON answer as a string (from_json(ret.error).message), message as is
        assert json.loads(result["dup"]["error"]) == {"message": result["dup"]["message"], "status": 409}
        assert "not found" in result["bad_message"]
        assert result["login"] is True and result["same"] is True
        assert result["missing"]["status"] == 404
        invalid = rt.run('return User.createUser{name = "x", email = "not-an-email", password = "p"}')
        assert invalid.response.message["status"] == 400 and "email" in invalid.response.message["error"]


def test_a_missing_argument_is_refused_as_the_services_own_errors_are():
    # Exosite's 2019 home-automation example answers every createUser failure with
    # tostring(from_json(ret.error).message), a missing password included.
    with runtime() as rt:
        refused = rt.run("""
            local ret = User.createUser{name = "bob", email = "bob@example.com"}
            return {status = ret.status, message = tostring(from_json(ret.error).message), type = ret.type}
        """).response.message
        assert refused["status"] == 400 and refused["type"] == "QueryError"
        assert "password" in refused["message"] and "required" in refused["message"]
        other = rt.run('return Keystore.set{value = "v"}').response.message  # other services: Murano's table
        assert other["status"] == 400 and other["error"].startswith("Keystore.set: key")


def test_a_token_expires_on_the_solution_clock():
    with runtime() as rt:
        user = signed_up(rt)
        short = rt.run(
            f'return User.getUserToken{{email = "ann@example.com", password = "{PASSWORD}", time_to_live = 60}}'
        ).response.message
        check = 'return User.getCurrentUser{token = "%s"}'
        assert rt.run(check % short).response.message["id"] == user["id"]
        rt.advance(59)
        assert rt.run(check % short).response.message["id"] == user["id"]
        rt.advance(1)
        assert rt.run(check % short).response.message["status"] == 401
        assert rt.run(check % user["token"]).response.message["id"] == user["id"]  # default TTL: a day
        rt.advance(86400)
        assert rt.run(check % user["token"]).response.message["status"] == 401


def test_update_password_needs_the_original_and_reset_does_not():
    with runtime() as rt:
        user = signed_up(rt)
        result = rt.run(f"""
            local id = {user["id"]}
            local missing = User.updateUser{{id = id, password = "new-one"}}
            local wrong = User.updateUser{{id = id, password = "new-one", original_password = "nope"}}
            local ok = User.updateUser{{id = id, name = "Annie", password = "new-one",
                                        original_password = "{PASSWORD}"}}
            local token = User.getUserToken{{email = "ann@example.com", password = "new-one"}}
            local reset = User.resetUserPassword{{id = id, password = "third-one"}}
            local old = User.getUserToken{{email = "ann@example.com", password = "new-one"}}
            local third = User.getUserToken{{email = "ann@example.com", password = "third-one"}}
            return {{missing = missing.status, wrong = wrong.status, ok = ok, name = User.getUser{{id = id}}.name,
                     token = type(token), reset = reset, old = old.status, third = type(third)}}
        """).response.message
        assert result == {"missing": 400, "wrong": 403, "ok": {"status": 204, "status_code": 204}, "name": "Annie",
                          "token": "string", "reset": {"status": 204, "status_code": 204}, "old": 401,
                          "third": "string"}


def test_a_disabled_user_cannot_log_in_and_a_deleted_one_is_gone():
    with runtime() as rt:
        user = signed_up(rt)
        result = rt.run(f"""
            User.updateUser{{id = {user["id"]}, status = 2}}
            local login = User.getUserToken{{email = "ann@example.com", password = "{PASSWORD}"}}
            local current = User.getCurrentUser{{token = "{user["token"]}"}}
            local bad = User.updateUser{{id = {user["id"]}, status = 7}}
            User.delete{{id = {user["id"]}}}
            return {{login = login.status, current = current.status, bad = bad.status,
                     gone = User.getUser{{id = {user["id"]}}}.status,
                     again = User.deleteUser{{id = {user["id"]}}}.status}}
        """).response.message
        assert result == {"login": 403, "current": 403, "bad": 400, "gone": 404, "again": 404}


def test_list_users_filter_as_a_string_or_a_list_and_the_items_form():
    with runtime() as rt:
        for email in ("ann@example.com", "bob@example.com", "bea@other.org"):
            rt.run(f'User.createUser{{name = "x", email = "{email}", password = "p"}}')
        result = rt.run("""
            local function emails(list) local out = {} for i, u in ipairs(list) do out[i] = u.email end return out end
            return {
              exact = emails(User.listUsers{filter = "email::like::BOB@example.com"}),
              list = emails(User.listUsers{filter = {"email::like::b%", "email::like::*.org"}}),
              none = #User.listUsers{filter = "email::like::zed@example.com"},
              page = emails(User.listUsers{limit = 1, offset = 1}),
              bad = User.listUsers{filter = "password::like::x"}.status,
            }
        """).response.message
        assert result == {"exact": ["bob@example.com"], "list": ["bea@other.org"], "none": 0,
                          "page": ["bob@example.com"], "bad": 400}
    with runtime(config={"services": {"user": {"list_users": "items", "hash_iterations": 1000}}}) as rt:
        rt.run('User.createUser{name = "x", email = "a@b.c", password = "p"}')
        listed = rt.run('return User.listUsers{filter = "email::like::a@b.c"}').response.message
        assert listed["total"] == 1 and listed["items"][0]["email"] == "a@b.c"


def test_user_data_is_a_key_value_map_per_user():
    with runtime() as rt:
        user = signed_up(rt)
        result = rt.run(f"""
            local id = {user["id"]}
            User.createUserData{{id = id, address = "1 Main St", prefs = {{dark = true}}}}
            local dup = User.createUserData{{id = id, address = "again"}}
            User.updateUserData{{id = id, address = "2 Main St", birthday = "01-01"}}
            local one = User.getUserData{{id = id, key = "address"}}
            User.deleteUserData{{id = id, keys = {{"birthday"}}}}
            return {{dup = dup.status, one = one, all = User.listUserData{{id = id}},
                     missing = User.getUserData{{id = id, key = "birthday"}}.status}}
        """).response.message
        assert result == {"dup": 409, "one": "2 Main St", "all": {"address": "2 Main St", "prefs": {"dark": True}},
                          "missing": 404}


# The guide's parking tutorial: roles with parameters, endpoints as permissions, hasUserPerm.
PARKING = f"""
User.createRole{{role_id = "vehicle_driver"}}
User.createRole{{role_id = "parking_area_manager"}}
local function user(name, email)
  local code = User.createUser{{name = name, email = email, password = "{PASSWORD}"}}
  User.activateUser{{code = code}}
end
user("User_Parking_Area", "demo_parking_area@exosite.com")
user("User_Vehicle", "demo_vehicle@exosite.com")
User.createPermission{{method = "GET", end_point = "query/{{parkingAreaID}}/availableSpace"}}
local endpoints = {{{{method = "GET", end_point = "query/{{parkingAreaID}}/availableSpace"}}}}
User.addRolePerm{{role_id = "vehicle_driver", body = endpoints}}
User.addRolePerm{{role_id = "parking_area_manager", body = endpoints}}
User.addRoleParam{{role_id = "parking_area_manager", body = {{{{name = "parkingAreaID"}}}}}}
User.addRoleParam{{role_id = "vehicle_driver", body = {{{{name = "parkingAreaID"}}}}}}
User.addRoleParam{{role_id = "parking_area_manager", body = {{{{name = "spaceRID"}}}}}}
User.assignUser{{id = 1, roles = {{{{role_id = "parking_area_manager", parameters = {{
  {{name = "parkingAreaID", value = 1}},
  {{name = "spaceRID", value = "d2343hbcc1232sweee12"}}, {{name = "spaceRID", value = "a34feh709a234e232xd21"}}}}}}}}}}
User.assignUser{{id = 2, roles = {{{{role_id = "vehicle_driver",
  parameters = {{{{name = "parkingAreaID", value = {{type = "wildcard"}}}}}}}}}}}}
"""


def test_the_parking_tutorial_roles_parameters_and_permissions():
    with runtime() as rt:
        setup = rt.run(PARKING)
        assert setup.error is None, setup.error
        assert all(c["status"] in (200, 204) for c in setup.calls), [c for c in setup.calls if "error" in c]
        result = rt.run("""
            local perm = "GET/query/{parkingAreaID}/availableSpace"
            return {
              driver = User.hasUserPerm{id = 2, perm_id = perm, parameters = {"parkingAreaID::1"}},
              driver_any = User.hasUserPerm{id = 2, perm_id = perm, parameters = {"parkingAreaID::77"}},
              manager = User.hasUserPerm{id = 1, perm_id = perm, parameters = {"parkingAreaID::1"}},
              manager_other = User.hasUserPerm{id = 1, perm_id = perm, parameters = {"parkingAreaID::2"}},
              values = User.listUserRoleParamValues{id = 1, role_id = "parking_area_manager",
                                                    parameter_name = "spaceRID", offset = 0, limit = 10},
              owner = User.hasUserRoleParam{id = 1, role_id = "parking_area_manager",
                                            parameter_name = "parkingAreaID", parameter_value = "1"},
              roles = User.listUserRoles{id = 2},
              role_users = User.listRoleUsers{role_id = "parking_area_manager"},
              param_users = User.listRoleParamUsers{role_id = "vehicle_driver", parameter_name = "parkingAreaID",
                                                    parameter_value = 5},
              role = User.getRole{role_id = "parking_area_manager"},
              perms = User.listRolePerms{role_id = "vehicle_driver"},
            }
        """).response.message
        assert result["driver"] == "OK" and result["driver_any"] == "OK" and result["manager"] == "OK"
        assert result["manager_other"]["status"] == 403 and result["manager_other"]["error"]
        assert result["values"] == {"items": ["d2343hbcc1232sweee12", "a34feh709a234e232xd21"], "total": 2}
        assert result["owner"] == "OK"
        assert result["roles"] == [{"role_id": "vehicle_driver",
                                    "parameters": [{"name": "parkingAreaID", "value": {"type": "wildcard"}}]}]
        assert result["role_users"] == [1] and result["param_users"] == [2]
        assert result["role"] == {"role_id": "parking_area_manager",
                                  "parameter": [{"name": "parkingAreaID"}, {"name": "spaceRID"}]}
        assert result["perms"] == [{"perm_id": "GET/query/{parkingAreaID}/availableSpace", "method": "GET",
                                    "end_point": "query/{parkingAreaID}/availableSpace"}]
        after = rt.run("""
            User.deassignUserParam{id = 1, role_id = "parking_area_manager", parameter_name = "parkingAreaID",
                                   parameter_value = 1}
            local perm = "GET/query/{parkingAreaID}/availableSpace"
            local manager = User.hasUserPerm{id = 1, perm_id = perm, parameters = {"parkingAreaID::1"}}
            User.deleteRolePerm{role_id = "vehicle_driver",
                                perm_id = "GET%2Fquery%2F%7BparkingAreaID%7D%2FavailableSpace"}
            local driver = User.hasUserPerm{id = 2, perm_id = perm, parameters = {"parkingAreaID::1"}}
            User.deassignUser{id = 2, role_id = "vehicle_driver"}
            return {manager = manager.status, driver = driver.status, roles = User.listUserRoles{id = 2},
                    unknown_param = User.assignUser{id = 1, roles = {{role_id = "vehicle_driver",
                      parameters = {{name = "nope", value = 1}}}}}.status,
                    unknown_role = User.assignUser{id = 1, roles = {{role_id = "ghost"}}}.status,
                    bad_role = User.createRole{role_id = "has space"}.status}
        """).response.message
        assert after == {"manager": 403, "driver": 403, "roles": [], "unknown_param": 400, "unknown_role": 404,
                         "bad_role": 400}


def test_the_account_event_on_create_and_activate():
    with runtime() as rt:
        code = rt.run(SIGN_UP).response.message
        rt.run(f'User.activateUser{{code = "{code}"}}')
        events = [(e["event"], e["payload"]["type"], e["payload"]["email"]) for e in rt.platform.events]
        assert events == [("account", "created", "ann@example.com"), ("account", "activated", "ann@example.com")]


def test_users_roles_and_data_survive_a_restart_and_reset_restores_the_seed(tmp_path):
    path = tmp_path / "state.sqlite"
    seed = {"users": [{"email": "seed@example.com", "password": "seeded-pw", "roles": [{"role_id": "admin"}]}],
            "roles": [{"role_id": "admin"}]}
    config = {"services": {"user": {"hash_iterations": 1000, "seed": seed}}}
    with runtime(config=config, state=State(path)) as rt:
        user = signed_up(rt)
        rt.run(f'User.createUserData{{id = {user["id"]}, city = "Oslo"}}')
    with runtime(config=config, state=State(path)) as rt:
        result = rt.run(f"""
            return {{me = User.getCurrentUser{{token = "{user["token"]}"}}.email,
                     city = User.getUserData{{id = {user["id"]}, key = "city"}},
                     seed = User.getUserToken{{email = "seed@example.com", password = "seeded-pw"}},
                     roles = User.listUserRoles{{id = 1}}}}
        """).response.message
        assert result["me"] == "ann@example.com" and result["city"] == "Oslo" and isinstance(result["seed"], str)
        assert result["roles"] == [{"role_id": "admin", "parameters": []}]
        rt.reset()
        emails = rt.run("local out = {} for i, u in ipairs(User.listUsers{}) do out[i] = u.email end return out")
        assert emails.response.message == ["seed@example.com"]
        assert rt.run('return User.getUser{id = 1}').response.message["email"] == "seed@example.com"


def test_no_plain_password_in_the_state_file_the_call_log_or_the_logs(tmp_path, caplog):
    path = tmp_path / "state.sqlite"
    caplog.set_level(logging.DEBUG)
    with runtime(state=State(path)) as rt:
        user = signed_up(rt)
        result = rt.run(f"""
            User.updateUser{{id = {user["id"]}, password = "{PASSWORD}-2", original_password = "{PASSWORD}"}}
            User.resetUserPassword{{id = {user["id"]}, password = "{PASSWORD}-3"}}
            User.createUser{{body = {{name = "Old", email = "old@example.com", password = "{PASSWORD}-4"}}}}
            local bad = User.getUserToken{{email = "ann@example.com", password = "{PASSWORD}-wrong"}}
            print("logged in? " .. tostring(bad.error))
            return User.getUserToken{{email = "ann@example.com", password = "{PASSWORD}-3"}}
        """)
        assert isinstance(result.response.message, str)
        calls = repr(result.calls)
        assert "[REDACTED]" in calls and PASSWORD not in calls
        assert PASSWORD not in repr(result.logs) and PASSWORD not in repr(result.to_dict())
        body = next(c for c in result.calls if c["operation"] == "createUser")["arguments"]["body"]
        assert body == {"name": "Old", "email": "old@example.com", "password": "[REDACTED]"}
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"ann@example.com" in stored  # the file does hold the users
    assert PASSWORD.encode() not in stored
    assert PASSWORD not in caplog.text


def test_hashes_are_salted_per_user():
    with runtime() as rt:
        for email in ("a@example.com", "b@example.com"):
            rt.run(f'User.createUser{{name = "x", email = "{email}", password = "same-password"}}')
        hashes = [h for (h,) in rt.state.db.execute("SELECT password_hash FROM user_users")]
        assert len(set(hashes)) == 2 and all(h.startswith("pbkdf2_sha256$1000$") for h in hashes)
