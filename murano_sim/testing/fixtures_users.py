"""Fixtures for a solution's users and mail: `users` (create, activate, log in) and `outbox`.

Both go through the same services the solution's Lua calls (`Services.call_value`: validation,
the model, the state), so what a fixture sets up is exactly what a script would have made.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pytest

from .runner import ScriptRunner

RolesSpec = Iterable[str] | Mapping[str, Mapping[str, Any]]


class FixtureError(AssertionError):
    """A fixture's call was refused by the service (the message is Murano's error)."""


class Users:
    """The solution's users, as a test sets them up."""

    def __init__(self, runner: ScriptRunner) -> None:
        self._platform = runner.platform

    def _call(self, operation: str, arguments: Mapping[str, Any]) -> Any:
        value = self._platform.call_value("user", operation, dict(arguments))
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


class Outbox:
    """Every email the solution sent, oldest first (a live view: read it after the script ran)."""

    def __init__(self, runner: ScriptRunner) -> None:
        self._model = runner.runtime.services["email"].model

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self._model.outbox()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.messages)

    def __len__(self) -> int:
        return len(self.messages)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.messages[index]

    @property
    def last(self) -> dict[str, Any]:
        messages = self.messages
        if not messages:
            raise FixtureError("the outbox is empty: no email was sent")
        return messages[-1]

    def to(self, address: str) -> list[dict[str, Any]]:
        """The messages addressed to `address` (to, cc or bcc)."""
        wanted = address.lower()
        return [m for m in self.messages
                if any(wanted in a.lower() for a in (*m["to"], *m["cc"], *m["bcc"]))]


@pytest.fixture
def users(murano: ScriptRunner) -> Users:
    """The `murano` solution's users: `users.create(email, password, roles=[...])`, `users.login(...)`."""
    return Users(murano)


@pytest.fixture
def outbox(murano: ScriptRunner) -> Outbox:
    """The emails the `murano` solution sent (Email.send): `outbox.last`, `outbox.to(address)`, `len(outbox)`."""
    return Outbox(murano)
