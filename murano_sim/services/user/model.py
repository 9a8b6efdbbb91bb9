"""Murano's User service: users (activation codes, salted password hashes, tokens on the solution's
clock), per-user data, roles with parameters, permissions and the checks built on them.

Everything lives in the solution's State (tables `user_*`). Passwords are kept only as
PBKDF2-SHA256 hashes with a random salt per user; they never reach a table, a result or a log.
Choices made where the reference says "not found" are listed in docs/services/user.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

from ...config.era import MURANOCLI_ERA
from .. import ServiceError, ServiceHost
from ..bounds import DEFAULT_QUOTA_BYTES, ByteQuota, check_size, positive_setting, row_bytes, table_bytes

NOT_ACTIVE, ACTIVE, DISABLED = 0, 1, 2
STATUS_BAD_REQUEST = 400
DEFAULT_TOKEN_TTL = 86400
DEFAULT_ITERATIONS = 50_000
WILDCARD = "\x00wildcard"  # the stored match key of {type = "wildcard"}: no real value can equal it
FILTER_FIELDS = ("id", "name", "email", "status", "creation_date")
FILTER_OPS = ("like", "eq", "ne", "gt", "lt", "ge", "le")
ENDPOINT_PARAM = re.compile(r"\{([^{}]+)\}")
# Murano documents no sizes for User storage: murano-sim's choices (docs/services/user.md).
MAX_NAME_BYTES = 255  # a user's name or email, a data key, a role parameter name (role ids: the spec's 80)
MAX_DATA_BYTES = 64 * 1024  # one user data value as JSON: as Device2's string resource
MAX_PARAM_VALUE_BYTES = 1024  # a role parameter value as JSON
MAX_END_POINT_BYTES = 1024  # a permission's end point

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS user_users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,"
    " email TEXT NOT NULL UNIQUE COLLATE NOCASE, password_hash TEXT NOT NULL, status INTEGER NOT NULL,"
    " creation_date TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS user_activation (code TEXT PRIMARY KEY, user_id INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS user_tokens (token TEXT PRIMARY KEY, user_id INTEGER NOT NULL, expires REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS user_data (user_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
    " PRIMARY KEY (user_id, key))",
    "CREATE TABLE IF NOT EXISTS user_roles (role_id TEXT PRIMARY KEY, seq INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS user_role_params (role_id TEXT NOT NULL, name TEXT NOT NULL,"
    " PRIMARY KEY (role_id, name))",
    "CREATE TABLE IF NOT EXISTS user_assignments (user_id INTEGER NOT NULL, role_id TEXT NOT NULL,"
    " PRIMARY KEY (user_id, role_id))",
    "CREATE TABLE IF NOT EXISTS user_assignment_params (user_id INTEGER NOT NULL, role_id TEXT NOT NULL,"
    " name TEXT NOT NULL, match TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (user_id, role_id, name, match))",
    "CREATE TABLE IF NOT EXISTS user_perms (method TEXT NOT NULL, end_point TEXT NOT NULL, seq INTEGER NOT NULL,"
    " PRIMARY KEY (method, end_point))",
    "CREATE TABLE IF NOT EXISTS user_role_perms (role_id TEXT NOT NULL, method TEXT NOT NULL, end_point TEXT NOT NULL,"
    " PRIMARY KEY (role_id, method, end_point))",
)
TABLES = ("user_users", "user_activation", "user_tokens", "user_data", "user_roles", "user_role_params",
          "user_assignments", "user_assignment_params", "user_perms", "user_role_perms")


def hash_password(password: str, iterations: int = DEFAULT_ITERATIONS) -> str:
    """A salted PBKDF2-SHA256 hash, as `pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>`."""
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    _, iterations, salt, digest = stored.split("$")
    given = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), bytes.fromhex(salt), int(iterations))
    return hmac.compare_digest(given.hex(), digest)


def match_key(value: Any) -> str:
    """How a role parameter value compares: 1, 1.0 and "1" are the same value; the wildcard matches all."""
    if isinstance(value, Mapping):
        if str(value.get("type", "")).lower() == "wildcard":
            return WILDCARD
        return json.dumps(value, sort_keys=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class UserService:
    def __init__(self, host: ServiceHost) -> None:
        self.host = host
        limit = positive_setting(host.settings, "user", "quota_bytes", DEFAULT_QUOTA_BYTES)
        self.quota = ByteQuota("User", limit, "services.user.quota_bytes", lambda: table_bytes(host.state, TABLES))
        with host.state.transaction() as db:
            for statement in SCHEMA:
                db.execute(statement)
        if not host.state.db.execute("SELECT 1 FROM user_users UNION ALL SELECT 1 FROM user_roles LIMIT 1").fetchone():
            self._seed()

    def refusal_table(self, message: str, status: int) -> dict[str, Any]:
        """An argument Murano's dispatcher refuses, shaped as the User service's own errors: solutions
        parse every User error the same way (from_json(ret.error).message)."""
        return UserError(status, message).table()

    # -- lifetime ------------------------------------------------------------------------------------
    def reset(self) -> None:
        with self.host.state.transaction() as db:
            for table in TABLES:
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            db.execute("DELETE FROM sqlite_sequence WHERE name = 'user_users'")
        self.quota.forget()
        self._seed()

    def _seed(self) -> None:
        seed = self.host.settings.get("seed") or {}
        for role in seed.get("roles") or ():
            self.createRole({"role_id": role["role_id"], "parameter": role.get("parameter") or []})
        for user in seed.get("users") or ():
            code = self.createUser({"name": user.get("name") or user["email"], "email": user["email"],
                                    "password": user["password"]}, emit=False)
            if user.get("status", ACTIVE) == ACTIVE:
                self.activateUser({"code": code}, emit=False)
            elif user.get("status") == DISABLED:
                self._set_status(self._user_by_email(user["email"])["id"], DISABLED)
            if user.get("roles"):
                self.assignUser({"id": self._user_by_email(user["email"])["id"], "roles": user["roles"]})

    # -- users ---------------------------------------------------------------------------------------
    def createUser(self, args: dict[str, Any], emit: bool = True) -> str:
        if not args["password"]:
            raise ServiceError(400, "password: must not be empty")
        _check("name", args["name"], MAX_NAME_BYTES)
        _check("email", args["email"], MAX_NAME_BYTES)
        stored = hash_password(args["password"], self._iterations())
        code = secrets.token_hex(16)
        self._admit([(0, args["name"], args["email"], stored, NOT_ACTIVE, self._timestamp()), (code, 0)])
        with self.host.state.transaction() as db:
            if db.execute("SELECT 1 FROM user_users WHERE email = ?", (args["email"],)).fetchone():
                raise _error(self._by_era(409), f"a user with email {args['email']} already exists")
            cursor = db.execute(
                "INSERT INTO user_users (name, email, password_hash, status, creation_date) VALUES (?, ?, ?, ?, ?)",
                (args["name"], args["email"], stored, NOT_ACTIVE, self._timestamp()),
            )
            db.execute("INSERT INTO user_activation VALUES (?, ?)", (code, cursor.lastrowid))
        if emit:
            assert cursor.lastrowid is not None  # an INSERT just ran on this cursor
            self._account("created", self._user(cursor.lastrowid))
        return code

    def activateUser(self, args: dict[str, Any], emit: bool = True) -> str:
        with self.host.state.transaction() as db:
            row = db.execute("SELECT user_id FROM user_activation WHERE code = ?", (args["code"],)).fetchone()
            if row is None:
                raise _error(404, "activation code not found or already used")
            db.execute("DELETE FROM user_activation WHERE code = ?", (args["code"],))
            db.execute("UPDATE user_users SET status = ? WHERE id = ?", (ACTIVE, row[0]))
        if emit:
            self._account("activated", self._user(row[0]))
        return "OK"

    def getUserToken(self, args: dict[str, Any]) -> str:
        row = self.host.state.db.execute(
            "SELECT id, password_hash, status FROM user_users WHERE email = ?", (args["email"],)).fetchone()
        # The same answer for an unknown email and a wrong password: no way to probe for accounts.
        if row is None or not password_matches(args["password"], row[1]):
            raise _error(401, "invalid email or password")
        if row[2] != ACTIVE:
            why = "the user is not active" if row[2] == NOT_ACTIVE else "the user is disabled"
            raise _error(self._by_era(403), why)
        ttl = args.get("time_to_live")
        if ttl is None:
            ttl = int(self.host.settings.get("token_ttl_seconds") or DEFAULT_TOKEN_TTL)
        if ttl <= 0:
            raise _error(400, "time_to_live: must be a positive number of seconds")
        token = secrets.token_urlsafe(30)
        self._admit([(token, row[0], self.host.now() + ttl)])
        with self.host.state.transaction() as db:
            db.execute("DELETE FROM user_tokens WHERE expires <= ?", (self.host.now(),))
            db.execute("INSERT INTO user_tokens VALUES (?, ?, ?)", (token, row[0], self.host.now() + ttl))
        return token

    def getCurrentUser(self, args: dict[str, Any]) -> dict[str, Any]:
        row = self.host.state.db.execute(
            "SELECT user_id, expires FROM user_tokens WHERE token = ?", (args["token"],)).fetchone()
        if row is None or row[1] <= self.host.now():
            raise _error(401, "the token is invalid or has expired")
        user = self._user(row[0])
        if user["status"] == DISABLED:
            raise _error(403, "the user is disabled")
        return user

    def getUser(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._user(self._id(args))

    def updateUser(self, args: dict[str, Any]) -> None:
        user_id = self._existing(args)
        changes: dict[str, Any] = {}
        if "name" in args:
            changes["name"] = args["name"]
        if "email" in args:
            taken = self.host.state.db.execute(
                "SELECT 1 FROM user_users WHERE email = ? AND id != ?", (args["email"], user_id)).fetchone()
            if taken:
                raise _error(409, f"a user with email {args['email']} already exists")
            changes["email"] = args["email"]
        if "status" in args:
            if args["status"] not in (NOT_ACTIVE, ACTIVE, DISABLED):
                raise _error(400, "status: must be 0 (not active), 1 (active) or 2 (disabled)")
            changes["status"] = args["status"]
        if "password" in args:
            if "original_password" not in args:
                raise _error(400, "original_password: is required to change the password")
            (stored,) = self.host.state.db.execute(
                "SELECT password_hash FROM user_users WHERE id = ?", (user_id,)).fetchone()
            if not password_matches(args["original_password"], stored):
                raise _error(403, "original_password: does not match")
            if not args["password"]:
                raise _error(400, "password: must not be empty")
            changes["password_hash"] = hash_password(args["password"], self._iterations())
        for column in ("name", "email"):
            if column in changes:
                _check(column, changes[column], MAX_NAME_BYTES)
        if changes:
            self._admit([tuple(changes.values())])  # upper bound: the old values stay counted until a recount
            assignments = ", ".join(f"{column} = ?" for column in changes)
            with self.host.state.transaction() as db:
                db.execute(f"UPDATE user_users SET {assignments} WHERE id = ?",  # noqa: S608 - known columns
                           (*changes.values(), user_id))

    def deleteUser(self, args: dict[str, Any]) -> None:
        user_id = self._existing(args)
        with self.host.state.transaction() as db:
            for table in ("user_activation", "user_tokens", "user_data", "user_assignments", "user_assignment_params"):
                db.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,))  # noqa: S608 - fixed names
            db.execute("DELETE FROM user_users WHERE id = ?", (user_id,))

    delete = deleteUser

    def resetUserPassword(self, args: dict[str, Any]) -> None:
        user_id = self._existing(args)
        if not args["password"]:
            raise _error(400, "password: must not be empty")
        with self.host.state.transaction() as db:
            db.execute("UPDATE user_users SET password_hash = ? WHERE id = ?",
                       (hash_password(args["password"], self._iterations()), user_id))

    def listUsers(self, args: dict[str, Any]) -> Any:
        filters = [_parse_filter(f) for f in _as_list(args.get("filter"))]
        users = [_user_row(row) for row in self.host.state.db.execute(
            "SELECT id, name, email, status, creation_date FROM user_users ORDER BY id")]
        users = [u for u in users if all(test(u) for test in filters)]
        total = len(users)
        offset = max(args.get("offset") or 0, 0)
        limit = args.get("limit")
        page = users[offset:] if limit is None else users[offset:offset + max(limit, 0)]
        if str(self.host.settings.get("list_users") or "array") == "items":
            return {"items": page, "total": total}
        return page

    # -- user data -------------------------------------------------------------------------------------
    def listUserData(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = self._existing(args)
        rows = self.host.state.db.execute("SELECT key, value FROM user_data WHERE user_id = ? ORDER BY key", (user_id,))
        return {key: json.loads(value) for key, value in rows}

    def getUserData(self, args: dict[str, Any]) -> Any:
        user_id = self._existing(args)
        row = self.host.state.db.execute(
            "SELECT value FROM user_data WHERE user_id = ? AND key = ?", (user_id, args["key"])).fetchone()
        if row is None:
            raise _error(404, f"user {user_id} has no data under key {args['key']!r}")
        return json.loads(row[0])

    def createUserData(self, args: dict[str, Any]) -> None:
        user_id, pairs = self._existing(args), _data_pairs(args)
        self._admit_data(user_id, pairs)
        with self.host.state.transaction() as db:
            for key, value in pairs.items():
                if db.execute("SELECT 1 FROM user_data WHERE user_id = ? AND key = ?", (user_id, key)).fetchone():
                    raise _error(409, f"user {user_id} already has data under key {key!r}")
                db.execute("INSERT INTO user_data VALUES (?, ?, ?)", (user_id, key, json.dumps(value)))

    def updateUserData(self, args: dict[str, Any]) -> None:
        user_id, pairs = self._existing(args), _data_pairs(args)
        self._admit_data(user_id, pairs)
        with self.host.state.transaction() as db:
            for key, value in pairs.items():
                db.execute("INSERT OR REPLACE INTO user_data VALUES (?, ?, ?)", (user_id, key, json.dumps(value)))

    def deleteUserData(self, args: dict[str, Any]) -> None:
        user_id = self._existing(args)
        with self.host.state.transaction() as db:
            for key in _as_list(args["keys"]):
                db.execute("DELETE FROM user_data WHERE user_id = ? AND key = ?", (user_id, str(key)))

    # -- roles -------------------------------------------------------------------------------------------
    def listRoles(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        rows = self.host.state.db.execute("SELECT role_id FROM user_roles ORDER BY seq").fetchall()
        return [self._role(role_id) for (role_id,) in rows]

    def createRole(self, args: dict[str, Any]) -> None:
        names = _param_names(args.get("parameter"), "parameter")
        self._admit([(args["role_id"], 0), *((args["role_id"], name) for name in names)])
        with self.host.state.transaction() as db:
            if db.execute("SELECT 1 FROM user_roles WHERE role_id = ?", (args["role_id"],)).fetchone():
                raise _error(409, f"role {args['role_id']} already exists")
            (seq,) = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM user_roles").fetchone()
            db.execute("INSERT INTO user_roles VALUES (?, ?)", (args["role_id"], seq))
            for name in names:
                db.execute("INSERT OR IGNORE INTO user_role_params VALUES (?, ?)", (args["role_id"], name))

    def getRole(self, args: dict[str, Any]) -> dict[str, Any]:
        self._existing_role(args["role_id"])
        return self._role(args["role_id"])

    def deleteRole(self, args: dict[str, Any]) -> None:
        role_id = self._existing_role(args["role_id"])
        with self.host.state.transaction() as db:
            for table in ("user_roles", "user_role_params", "user_assignments", "user_assignment_params",
                          "user_role_perms"):
                db.execute(f"DELETE FROM {table} WHERE role_id = ?", (role_id,))  # noqa: S608 - fixed names

    def addRoleParam(self, args: dict[str, Any]) -> None:
        role_id = self._existing_role(args["role_id"])
        given = args.get("body", args.get("parameter"))
        if given is None:
            raise _error(400, "body: is required (a list of {name = ...})")
        names = _param_names(given, "body")
        self._admit([(role_id, name) for name in names])
        with self.host.state.transaction() as db:
            for name in names:
                db.execute("INSERT OR IGNORE INTO user_role_params VALUES (?, ?)", (role_id, name))

    def deleteRoleParam(self, args: dict[str, Any]) -> None:
        role_id, name = self._existing_role(args["role_id"]), args["parameter_name"]
        with self.host.state.transaction() as db:
            if db.execute("DELETE FROM user_role_params WHERE role_id = ? AND name = ?", (role_id, name)).rowcount == 0:
                raise _error(404, f"role {role_id} has no parameter {name}")
            db.execute("DELETE FROM user_assignment_params WHERE role_id = ? AND name = ?", (role_id, name))

    # -- role assignment ---------------------------------------------------------------------------------
    def assignUser(self, args: dict[str, Any]) -> None:
        user_id = self._existing(args)
        with self.host.state.transaction() as db:
            for index, role in enumerate(args["roles"]):
                where = f"roles[{index + 1}]"
                if not isinstance(role, Mapping) or not isinstance(role.get("role_id"), str):
                    raise _error(400, f"{where}: must be a table with a role_id")
                role_id = self._existing_role(role["role_id"])
                known = {name for (name,) in db.execute(
                    "SELECT name FROM user_role_params WHERE role_id = ?", (role_id,))}
                db.execute("INSERT OR IGNORE INTO user_assignments VALUES (?, ?)", (user_id, role_id))
                for number, param in enumerate(_as_list(role.get("parameters"))):
                    place = f"{where}.parameters[{number + 1}]"
                    if not isinstance(param, Mapping) or "name" not in param or param.get("value") is None:
                        raise _error(400, f"{place}: must be a table with a name and a value")
                    if param["name"] not in known:
                        raise _error(400, f"{place}: role {role_id} has no parameter {param['name']}"
                                          " (addRoleParam first)")
                    value = json.dumps(param["value"])
                    _check(f"{place}.value", value, MAX_PARAM_VALUE_BYTES)
                    self._admit([(user_id, role_id, param["name"], match_key(param["value"]), value)])
                    db.execute("INSERT OR REPLACE INTO user_assignment_params VALUES (?, ?, ?, ?, ?)",
                               (user_id, role_id, param["name"], match_key(param["value"]), value))

    def deassignUser(self, args: dict[str, Any]) -> None:
        user_id, role_id = self._existing(args), args["role_id"]
        with self.host.state.transaction() as db:
            gone = db.execute("DELETE FROM user_assignments WHERE user_id = ? AND role_id = ?", (user_id, role_id))
            if gone.rowcount == 0:
                raise _error(404, f"user {user_id} does not have role {role_id}")
            db.execute("DELETE FROM user_assignment_params WHERE user_id = ? AND role_id = ?", (user_id, role_id))

    def deassignUserParam(self, args: dict[str, Any]) -> None:
        user_id = self._existing(args)
        with self.host.state.transaction() as db:
            gone = db.execute(
                "DELETE FROM user_assignment_params WHERE user_id = ? AND role_id = ? AND name = ? AND match = ?",
                (user_id, args["role_id"], args["parameter_name"], match_key(args["parameter_value"])))
            if gone.rowcount == 0:
                raise _error(404, f"user {user_id} has no {args['parameter_name']} = "
                                  f"{args['parameter_value']} in role {args['role_id']}")

    def deassignUserParamName(self, args: dict[str, Any]) -> None:
        user_id = self._existing(args)
        with self.host.state.transaction() as db:
            db.execute("DELETE FROM user_assignment_params WHERE user_id = ? AND role_id = ? AND name = ?",
                       (user_id, args["role_id"], args["parameter_name"]))

    def listUserRoles(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        user_id = self._existing(args)
        roles = self.host.state.db.execute(
            "SELECT a.role_id FROM user_assignments a JOIN user_roles r USING (role_id) WHERE a.user_id = ?"
            " ORDER BY r.seq", (user_id,)).fetchall()
        result = []
        for (role_id,) in roles:
            params = self.host.state.db.execute(
                "SELECT name, value FROM user_assignment_params WHERE user_id = ? AND role_id = ? ORDER BY rowid",
                (user_id, role_id))
            result.append({"role_id": role_id,
                           "parameters": [{"name": name, "value": json.loads(value)} for name, value in params]})
        return result

    def listRoleUsers(self, args: dict[str, Any]) -> list[int]:
        role_id = self._existing_role(args["role_id"])
        rows = self.host.state.db.execute(
            "SELECT user_id FROM user_assignments WHERE role_id = ? ORDER BY user_id", (role_id,))
        return [user_id for (user_id,) in rows]

    def listRoleParamUsers(self, args: dict[str, Any]) -> list[int]:
        role_id = self._existing_role(args["role_id"])
        rows = self.host.state.db.execute(
            "SELECT DISTINCT user_id FROM user_assignment_params WHERE role_id = ? AND name = ? AND match IN (?, ?)"
            " ORDER BY user_id", (role_id, args["parameter_name"], match_key(args["parameter_value"]), WILDCARD))
        return [user_id for (user_id,) in rows]

    def listUserRoleParamValues(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = self._existing(args)
        rows = self.host.state.db.execute(
            "SELECT value FROM user_assignment_params WHERE user_id = ? AND role_id = ? AND name = ? ORDER BY rowid",
            (user_id, args["role_id"], args["parameter_name"])).fetchall()
        values = [json.loads(value) for (value,) in rows]
        offset = max(args.get("offset") or 0, 0)
        limit = args.get("limit")
        page = values[offset:] if limit is None else values[offset:offset + max(limit, 0)]
        return {"items": page, "total": len(values)}

    # -- checks ------------------------------------------------------------------------------------------
    def hasUserRoleParam(self, args: dict[str, Any]) -> str:
        user_id = self._existing(args)
        if self._holds(user_id, args["role_id"], args["parameter_name"], match_key(args["parameter_value"])):
            return "OK"
        raise _error(403, f"user {user_id} does not have {args['parameter_name']} = {args['parameter_value']}"
                          f" in role {args['role_id']}")

    def hasUserPerm(self, args: dict[str, Any]) -> str:
        user_id = self._existing(args)
        method, end_point = _split_perm_id(args["perm_id"])
        given = _perm_parameters(args.get("parameters"))
        needed = ENDPOINT_PARAM.findall(end_point)
        roles = self.host.state.db.execute(
            "SELECT a.role_id FROM user_assignments a JOIN user_role_perms p USING (role_id)"
            " WHERE a.user_id = ? AND p.method = ? AND p.end_point = ?", (user_id, method, end_point)).fetchall()
        for (role_id,) in roles:
            if all(name in given and self._holds(user_id, role_id, name, match_key(given[name])) for name in needed):
                return "OK"
        raise _error(403, f"user {user_id} has no permission {method}/{end_point}")

    # -- permissions ---------------------------------------------------------------------------------------
    def listPerms(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        rows = self.host.state.db.execute("SELECT method, end_point FROM user_perms ORDER BY seq")
        return [_perm(method, end_point) for method, end_point in rows]

    def createPermission(self, args: dict[str, Any]) -> None:
        method, end_point = args["method"].upper(), _end_point(args["end_point"])
        with self.host.state.transaction() as db:
            if db.execute("SELECT 1 FROM user_perms WHERE method = ? AND end_point = ?",
                          (method, end_point)).fetchone():
                raise _error(409, f"permission {method}/{end_point} already exists")
            self._insert_perm(db, method, end_point)

    def deletePerm(self, args: dict[str, Any]) -> None:
        method, end_point = _split_perm_id(args["perm_id"])
        with self.host.state.transaction() as db:
            if db.execute("DELETE FROM user_perms WHERE method = ? AND end_point = ?",
                          (method, end_point)).rowcount == 0:
                raise _error(404, f"permission {method}/{end_point} not found")
            db.execute("DELETE FROM user_role_perms WHERE method = ? AND end_point = ?", (method, end_point))

    def listRolePerms(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        role_id = self._existing_role(args["role_id"])
        rows = self.host.state.db.execute(
            "SELECT rp.method, rp.end_point FROM user_role_perms rp JOIN user_perms p USING (method, end_point)"
            " WHERE rp.role_id = ? ORDER BY p.seq", (role_id,))
        return [_perm(method, end_point) for method, end_point in rows]

    def addRolePerm(self, args: dict[str, Any]) -> None:
        role_id = self._existing_role(args["role_id"])
        body = args.get("body")
        perms = [body] if isinstance(body, Mapping) else _as_list(body)
        if not perms:
            raise _error(400, "body: is required (a list of {method = ..., end_point = ...})")
        with self.host.state.transaction() as db:
            for index, perm in enumerate(perms):
                if not isinstance(perm, Mapping) or not perm.get("method") or not perm.get("end_point"):
                    raise _error(400, f"body[{index + 1}]: must be a table with a method and an end_point")
                method, end_point = str(perm["method"]).upper(), _end_point(str(perm["end_point"]))
                if not db.execute("SELECT 1 FROM user_perms WHERE method = ? AND end_point = ?",
                                  (method, end_point)).fetchone():
                    self._insert_perm(db, method, end_point)
                self._admit([(role_id, method, end_point)])
                db.execute("INSERT OR IGNORE INTO user_role_perms VALUES (?, ?, ?)", (role_id, method, end_point))

    def deleteRolePerm(self, args: dict[str, Any]) -> None:
        role_id = self._existing_role(args["role_id"])
        method, end_point = _split_perm_id(args["perm_id"])
        with self.host.state.transaction() as db:
            if db.execute("DELETE FROM user_role_perms WHERE role_id = ? AND method = ? AND end_point = ?",
                          (role_id, method, end_point)).rowcount == 0:
                raise _error(404, f"role {role_id} does not have permission {method}/{end_point}")

    # -- for the test fixtures (not operations) -------------------------------------------------------------
    def user_by_email(self, email: str) -> dict[str, Any] | None:
        try:
            return self._user_by_email(email)
        except ServiceError:
            return None

    # -- helpers -------------------------------------------------------------------------------------------
    def _by_era(self, status: int) -> int:
        """A refusal's status as the solution's era had it: the 2016-2017 platform answered a duplicate
        user and an inactive user's login 400 (docs/fidelity-results.md)."""
        return STATUS_BAD_REQUEST if self.host.era <= MURANOCLI_ERA else status

    def _iterations(self) -> int:
        return int(self.host.settings.get("hash_iterations") or DEFAULT_ITERATIONS)

    def _timestamp(self) -> str:
        return datetime.fromtimestamp(self.host.now(), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _account(self, kind: str, user: dict[str, Any]) -> None:
        self.host.emit("account", {"type": kind, **user})

    def _id(self, args: Mapping[str, Any]) -> int:
        value = args["id"]
        try:
            number = int(value) if not isinstance(value, bool) else None
        except ValueError:
            number = None
        if number is None or str(value).strip() not in (str(number), f"{number}.0"):
            raise _error(400, f"id: must be a user id (a whole number), got {value!r}")
        return number

    def _existing(self, args: Mapping[str, Any]) -> int:
        return self._user(self._id(args))["id"]

    def _user(self, user_id: int) -> dict[str, Any]:
        row = self.host.state.db.execute(
            "SELECT id, name, email, status, creation_date FROM user_users WHERE id = ?", (user_id,)).fetchone()
        if row is None:
            raise _error(404, f"user {user_id} not found")
        return _user_row(row)

    def _user_by_email(self, email: str) -> dict[str, Any]:
        row = self.host.state.db.execute(
            "SELECT id, name, email, status, creation_date FROM user_users WHERE email = ?", (email,)).fetchone()
        if row is None:
            raise _error(404, f"no user with email {email}")
        return _user_row(row)

    def _set_status(self, user_id: int, status: int) -> None:
        with self.host.state.transaction() as db:
            db.execute("UPDATE user_users SET status = ? WHERE id = ?", (status, user_id))

    def _existing_role(self, role_id: str) -> str:
        if not self.host.state.db.execute("SELECT 1 FROM user_roles WHERE role_id = ?", (role_id,)).fetchone():
            raise _error(404, f"role {role_id} not found")
        return role_id

    def _role(self, role_id: str) -> dict[str, Any]:
        names = self.host.state.db.execute(
            "SELECT name FROM user_role_params WHERE role_id = ? ORDER BY rowid", (role_id,))
        return {"role_id": role_id, "parameter": [{"name": name} for (name,) in names]}

    def _holds(self, user_id: int, role_id: str, name: str, key: str) -> bool:
        return self.host.state.db.execute(
            "SELECT 1 FROM user_assignment_params WHERE user_id = ? AND role_id = ? AND name = ? AND match IN (?, ?)",
            (user_id, role_id, name, key, WILDCARD)).fetchone() is not None

    def _admit(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Charge rows about to be written to the byte quota (403 with User's error table when full)."""
        try:
            self.quota.charge(sum(row_bytes(*row) for row in rows))
        except ServiceError as exc:
            raise _error(exc.status, exc.message) from None

    def _admit_data(self, user_id: int, pairs: Mapping[str, Any]) -> None:
        rows = []
        for key, value in pairs.items():
            _check("key", key, MAX_NAME_BYTES)
            text = json.dumps(value)
            _check(f"value of {key}", text, MAX_DATA_BYTES)
            rows.append((user_id, key, text))
        self._admit(rows)

    def _insert_perm(self, db: Any, method: str, end_point: str) -> None:
        _check("end_point", end_point, MAX_END_POINT_BYTES)
        self._admit([(method, end_point, 0)])
        (seq,) = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM user_perms").fetchone()
        db.execute("INSERT INTO user_perms VALUES (?, ?, ?)", (method, end_point, seq))


def _check(what: str, value: Any, limit: int) -> None:
    """A size bound, refused with User's error table."""
    try:
        check_size("User", what, value, limit)
    except ServiceError as exc:
        raise _error(exc.status, exc.message) from None


def _error(status: int, message: str) -> ServiceError:
    """User's error tables also carry the 2016 fields code in the wild reads (message, status_code, code)."""
    return UserError(status, message)


class UserError(ServiceError):
    def table(self) -> dict[str, Any]:
        # error: the User service's own JSON answer as a string, as Murano passes it on; solutions of
        # every era parse it (from_json(ret.error).message), older ones read .message directly.
        body = json.dumps({"message": self.message, "status": self.status})
        return {**super().table(), "error": body, "message": self.message, "status_code": self.status,
                "code": self.status}


def _user_row(row: Iterable[Any]) -> dict[str, Any]:
    user_id, name, email, status, creation_date = row
    return {"id": user_id, "name": name, "email": email, "status": status, "creation_date": creation_date}


def _as_list(value: Any) -> list[Any]:
    if value is None or value == {}:
        return []
    return value if isinstance(value, list) else [value]


def _param_names(given: Any, where: str) -> list[str]:
    names = []
    for index, item in enumerate([given] if isinstance(given, Mapping) else _as_list(given)):
        name = item.get("name") if isinstance(item, Mapping) else item
        if not isinstance(name, str) or not name:
            raise _error(400, f"{where}[{index + 1}]: must be a table with a name")
        _check(f"{where}[{index + 1}].name", name, MAX_NAME_BYTES)
        names.append(name)
    return names


def _data_pairs(args: Mapping[str, Any]) -> dict[str, Any]:
    pairs = {k: v for k, v in args.items() if k != "id"}
    if not pairs:
        raise _error(400, "no key = value pairs given")
    return pairs


def _end_point(end_point: str) -> str:
    return end_point.lstrip("/")


def _split_perm_id(perm_id: str) -> tuple[str, str]:
    """`GET/query/{id}/x` (or its URL-encoded form) -> ("GET", "query/{id}/x")."""
    method, _, end_point = unquote(perm_id).partition("/")
    if not method or not end_point:
        raise _error(400, f"perm_id: must be <METHOD>/<end_point>, got {perm_id!r}")
    return method.upper(), _end_point(end_point)


def _perm(method: str, end_point: str) -> dict[str, Any]:
    return {"perm_id": f"{method}/{end_point}", "method": method, "end_point": end_point}


def _perm_parameters(given: Any) -> dict[str, Any]:
    """hasUserPerm's parameters: {"name::value", ...} (documented) or {name = value}."""
    if isinstance(given, Mapping):
        return dict(given)
    result: dict[str, Any] = {}
    for item in _as_list(given):
        name, sep, value = str(item).partition("::")
        if not sep:
            raise _error(400, f"parameters: {item!r} must be name::value")
        result[name] = value
    return result


def _parse_filter(text: Any) -> Any:
    """`field::op::value` -> a test on a user."""
    parts = str(text).split("::", 2)
    if len(parts) != 3 or parts[0] not in FILTER_FIELDS or parts[1] not in FILTER_OPS:
        raise _error(400, f"filter: {text!r} must be field::op::value with field one of {', '.join(FILTER_FIELDS)}"
                          f" and op one of {', '.join(FILTER_OPS)}")
    field, op, value = parts
    if op == "like":
        pattern = re.compile("".join(".*" if c in "%*" else re.escape(c) for c in value), re.IGNORECASE)
        return lambda user: pattern.fullmatch(str(user[field])) is not None

    def compare(user: Mapping[str, Any]) -> bool:
        have: Any = user[field]
        want: Any = value
        if isinstance(have, int):
            try:
                want = int(value)
            except ValueError:
                have = str(have)
        return {"eq": have == want, "ne": have != want, "gt": have > want, "lt": have < want,
                "ge": have >= want, "le": have <= want}[op]

    return compare
