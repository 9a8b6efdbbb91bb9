"""User's control: the solution's users, for the console, the `users` fixture and yaml cases
(`users:` seeds users). Set-up goes through the same calls the solution's Lua makes
(`Services.call_value`: validation, the model, the state), so it is exactly what a script would make."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..control import CaseDataError, FixtureError, ServiceControl, entries

RolesSpec = Iterable[str] | Mapping[str, Mapping[str, Any]]
USER_KEYS = ("email", "password", "name", "activate", "roles")


class Users:
    """The solution's users, as a test sets them up."""

    def __init__(self, services: Any) -> None:
        self._services = services

    def _call(self, operation: str, arguments: Mapping[str, Any]) -> Any:
        value = self._services.call_value("user", operation, dict(arguments))
        if isinstance(value, Mapping) and "error" in value:
            raise FixtureError(f"User.{operation}: {value['error']} (status {value.get('status')})")
        return value

    def create(
        self, email: str, password: str, *, name: str | None = None, activate: bool = True, roles: RolesSpec = ()
    ) -> dict[str, Any]:
        """A user (activated unless activate=False), with roles: a list of role ids, or
        {role_id: {parameter: value}}; missing roles and role parameters are created.
        Returns the user table, plus `activation_code` when not activated."""
        code = self._call("createUser", {"name": name or email, "email": email, "password": password})
        if activate:
            self.activate(code)
        user = self.get(email)
        if roles:
            self.assign(user["id"], roles)
        return user if activate else {**user, "activation_code": code}

    def activate(self, code: str) -> None:
        self._call("activateUser", {"code": code})

    def login(self, email: str, password: str, time_to_live: int | None = None) -> str:
        """A token, as User.getUserToken gives it."""
        arguments: dict[str, Any] = {"email": email, "password": password}
        if time_to_live is not None:
            arguments["time_to_live"] = time_to_live
        return self._call("getUserToken", arguments)

    def get(self, email: str) -> dict[str, Any]:
        found = [u for u in self.all() if u["email"].lower() == email.lower()]
        if not found:
            raise FixtureError(f"no user with email {email}")
        return found[0]

    def all(self) -> list[dict[str, Any]]:
        listed = self._call("listUsers", {})
        return listed["items"] if isinstance(listed, Mapping) else listed

    def roles(self, user_id: int) -> list[dict[str, Any]]:
        return self._call("listUserRoles", {"id": user_id})

    def assign(self, user_id: int, roles: RolesSpec) -> None:
        given = roles if isinstance(roles, Mapping) else {role_id: {} for role_id in roles}
        existing = {role["role_id"]: {p["name"] for p in role["parameter"]} for role in self._call("listRoles", {})}
        assignments = []
        for role_id, parameters in given.items():
            if role_id not in existing:
                self._call("createRole", {"role_id": role_id})
                existing[role_id] = set()
            missing = [{"name": n} for n in (parameters or {}) if n not in existing[role_id]]
            if missing:
                self._call("addRoleParam", {"role_id": role_id, "body": missing})
            assignments.append({"role_id": role_id, "parameters": [
                {"name": n, "value": v} for n, v in (parameters or {}).items()]})
        self._call("assignUser", {"id": user_id, "roles": assignments})


class UserControl(ServiceControl):
    seed_keys = ("users",)

    def fixture(self) -> Users:
        return Users(self.services)

    def seed(self, data: Any) -> None:
        """[{email, password, name, activate, roles}]: each created as the `users` fixture does."""
        users = self.fixture()
        for user in self.check_case("users", "users", data, expect=False):
            users.create(user["email"], user["password"], name=user.get("name"),
                         activate=user.get("activate", True), roles=user.get("roles") or ())

    def inspect(self, view: str | None = None, **query: Any) -> dict[str, Any]:
        """{"users": [... with their roles], "roles": [...]}."""
        users = self.model
        with self.host.state.lock:
            listed = users.listUsers({})
            rows = listed["items"] if isinstance(listed, dict) else listed
            out = [{**user, "roles": users.listUserRoles({"id": user["id"]})} for user in rows]
            roles = users.listRoles({})
        return {"users": out, "roles": roles}

    @staticmethod
    def check_case(key: str, where: str, value: Any, *, expect: bool) -> list[dict[str, Any]]:
        users = []
        for i, user in entries(value, where, USER_KEYS, "users ({email, password, name, activate, roles})"):
            if not isinstance(user.get("email"), str) or not isinstance(user.get("password"), str):
                raise CaseDataError(f"{where}[{i}]: needs `email` and `password`")
            users.append(dict(user))
        return users


factory = UserControl
