"""Case files' service data: what a case seeds (`keystore`, `tsdb`, `users`, `devices`), how far
it moves the clock (`advance`), and what it expects the services to hold afterwards
(`expect: {keystore, tsdb, outbox}`).

Everything goes through the fixtures' own helpers (KeystoreView, TsdbPoints, Users, Devices,
Outbox), so a case sets up and reads exactly what the matching fixture would.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from .expectations import Mismatch, _equal, contains, project

if TYPE_CHECKING:
    from .fixtures_data import TsdbPoints
    from .runner import ScriptRunner

SEED_KEYS = ("keystore", "tsdb", "users", "devices")
EXPECT_SERVICE_KEYS = ("keystore", "tsdb", "outbox")
USER_KEYS = ("email", "password", "name", "activate", "roles")
DEVICE_KEYS = ("data_in",)
POINT_KEYS = ("metrics", "tags", "ts")
ADDRESS_FIELDS = ("to", "cc", "bcc")
TEXT_CONTAINS = "text_contains"  # an outbox entry's substring of the text or html body


class CaseDataError(UsageError):
    """A malformed service section of a case (the message names the file, line and case)."""


# -- checking a case file's sections (at collection) ---------------------------------------------
def check_seeds(where: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The seed sections of a case (after file defaults), checked; CaseDataError names the problem."""
    seeds: dict[str, Any] = {}
    if settings.get("keystore") is not None:
        seeds["keystore"] = dict(_mapping(settings["keystore"], f"{where}: keystore"))
    if settings.get("tsdb") is not None:
        seeds["tsdb"] = _points(settings["tsdb"], f"{where}: tsdb")
    if settings.get("users") is not None:
        seeds["users"] = _users(settings["users"], f"{where}: users")
    if settings.get("devices") is not None:
        seeds["devices"] = _devices(settings["devices"], f"{where}: devices")
    return seeds


def check_advance(where: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise CaseDataError(f"{where}: advance must be a number of seconds (0 or more)")
    return float(value)


def check_expected_services(where: str, expect: Mapping[str, Any]) -> None:
    if "keystore" in expect:
        _mapping(expect["keystore"], f"{where}: expect.keystore")
    if "tsdb" in expect:
        _points(expect["tsdb"], f"{where}: expect.tsdb")
    if "outbox" in expect:
        outbox = expect["outbox"]
        if not isinstance(outbox, list) or not all(isinstance(m, Mapping) for m in outbox):
            raise CaseDataError(f"{where}: expect.outbox must be a list of messages ({{to, subject, ...}})")


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise CaseDataError(f"{where} must be a mapping")
    return value


def _entries(value: Any, where: str, known: Any, shape: str) -> list[tuple[int, Mapping[str, Any]]]:
    """A list of mappings with only `known` keys, each with its index (for the caller's messages)."""
    if not isinstance(value, list):
        raise CaseDataError(f"{where} must be a list of {shape}")
    entries = []
    for i, entry in enumerate(value):
        entry = _mapping(entry, f"{where}[{i}]")
        unknown = set(entry) - set(known)
        if unknown:
            raise CaseDataError(f"{where}[{i}]: unknown key {sorted(unknown)[0]!r} (known: {', '.join(known)})")
        entries.append((i, entry))
    return entries


def _points(value: Any, where: str) -> list[dict[str, Any]]:
    points = []
    for i, point in _entries(value, where, POINT_KEYS, "points ({metrics, tags, ts})"):
        if not isinstance(point.get("metrics"), Mapping) or not point["metrics"]:
            raise CaseDataError(f"{where}[{i}]: needs `metrics` ({{name: value}})")
        if point.get("tags") is not None:
            _mapping(point["tags"], f"{where}[{i}].tags")
        points.append(dict(point))
    return points


def _users(value: Any, where: str) -> list[dict[str, Any]]:
    users = []
    for i, user in _entries(value, where, USER_KEYS, "users ({email, password, name, activate, roles})"):
        if not isinstance(user.get("email"), str) or not isinstance(user.get("password"), str):
            raise CaseDataError(f"{where}[{i}]: needs `email` and `password`")
        users.append(dict(user))
    return users


def _devices(value: Any, where: str) -> dict[str, list[dict[str, Any]]]:
    """identity -> the data_in writes it sends, in order (none: only provisioned)."""
    devices: dict[str, list[dict[str, Any]]] = {}
    for identity, spec in _mapping(value, where).items():
        spec = {} if spec is None else _mapping(spec, f"{where}.{identity}")
        unknown = set(spec) - set(DEVICE_KEYS)
        if unknown:
            raise CaseDataError(f"{where}.{identity}: unknown key {sorted(unknown)[0]!r} "
                                f"(known: {', '.join(DEVICE_KEYS)})")
        writes = spec.get("data_in") or []
        writes = [writes] if isinstance(writes, Mapping) else writes
        if not isinstance(writes, list) or not all(isinstance(w, Mapping) for w in writes):
            raise CaseDataError(f"{where}.{identity}.data_in must be {{alias: value}} or a list of them")
        devices[str(identity)] = [dict(w) for w in writes]
    return devices


# -- running ---------------------------------------------------------------------------------------
def seed(runner: ScriptRunner, seeds: Mapping[str, Any]) -> None:
    """Keystore values, Tsdb points and users, then every device provisioned and its data_in sent
    (their events reach a served solution's handlers). A refused setup call raises FixtureError."""
    # The fixtures import pytest: loaded only when a case runs (collection does not need them).
    from ..services import ServiceError
    from .fixtures_data import KeystoreView, TsdbPoints, _model
    from .fixtures_devices import Devices
    from .fixtures_users import FixtureError, Users

    if "keystore" in seeds:
        view = KeystoreView(_model(runner, "keystore"))
        for key, value in seeds["keystore"].items():
            view[str(key)] = value
    if "tsdb" in seeds:
        points = TsdbPoints(_model(runner, "tsdb"))
        for point in seeds["tsdb"]:
            points.write(point["metrics"], point.get("tags"), point.get("ts"))
    if "users" in seeds:
        users = Users(runner)
        for user in seeds["users"]:
            users.create(user["email"], user["password"], name=user.get("name"),
                         activate=user.get("activate", True), roles=user.get("roles") or ())
    if "devices" in seeds:
        devices = Devices(runner.runtime)
        try:
            for identity in seeds["devices"]:
                devices.provision(identity)
            for identity, writes in seeds["devices"].items():
                for values in writes:
                    devices.data_in(identity, **values)
        except ServiceError as exc:
            raise FixtureError(f"devices: {exc.message} (status {exc.status})") from None


def check_services(runner: ScriptRunner, expect: Mapping[str, Any]) -> list[Mismatch]:
    """Every `expect` service section that the services' data does not meet."""
    from .fixtures_data import KeystoreView, TsdbPoints, _model
    from .fixtures_users import Outbox

    found: list[Mismatch] = []
    if "keystore" in expect:
        view = KeystoreView(_model(runner, "keystore"))
        wanted = {str(k): v for k, v in expect["keystore"].items()}
        actual = {k: view.get(k) for k in wanted}
        if not all(contains(actual[k], v) if v is not None else actual[k] is None for k, v in wanted.items()):
            found.append(Mismatch("keystore", wanted, actual, "null means the key is absent"))
    if "tsdb" in expect:
        points = TsdbPoints(_model(runner, "tsdb"))
        stored = points.points()
        missing = [p for p in expect["tsdb"] if not _has_point(points, stored, p)]
        if missing:
            shown = [{"metrics": {s["metric"]: s["value"]}, "tags": s["tags"], "ts": s["ts"]} for s in stored]
            found.append(Mismatch("tsdb", missing, shown, "these points are not stored"))
    if "outbox" in expect:
        found.extend(_check_outbox(Outbox(runner).messages, expect["outbox"]))
    return found


def _has_point(points: TsdbPoints, stored: list[dict[str, Any]], wanted: Mapping[str, Any]) -> bool:
    """Every metric of `wanted` is stored with its value, with at least its tags, at its ts if given."""
    ts = points.microseconds(wanted["ts"]) if wanted.get("ts") is not None else None
    tags = {str(k): str(v) for k, v in (wanted.get("tags") or {}).items()}
    return all(
        any(
            s["metric"] == metric and _equal(value, s["value"]) and (ts is None or s["ts"] == ts)
            and all(s["tags"].get(k) == v for k, v in tags.items())
            for s in stored
        )
        for metric, value in wanted["metrics"].items()
    )


def _check_outbox(messages: list[dict[str, Any]], wanted: list[Mapping[str, Any]]) -> list[Mismatch]:
    """The outbox holds exactly the listed messages, in order; each holds the listed fields."""
    specs = [_outbox_spec(w) for w in wanted]
    shown = [project(m, spec) for m, (spec, _) in zip(messages, specs, strict=False)]
    ok = len(messages) == len(specs) and all(
        contains(m, spec) and all(t in (m.get("text") or "") + (m.get("html") or "") for t in texts)
        for m, (spec, texts) in zip(messages, specs, strict=False)
    )
    if ok:
        return []
    note = f"expected {len(specs)} message(s), got {len(messages)}" if len(messages) != len(specs) else \
        "a message differs"
    return [Mismatch("outbox", [dict(w) for w in wanted], shown + messages[len(specs):], note)]


def _outbox_spec(wanted: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(fields to match as a subset, texts the body must contain); a single address is a list of one."""
    spec = {k: v for k, v in wanted.items() if k != TEXT_CONTAINS}
    for field in ADDRESS_FIELDS:
        if isinstance(spec.get(field), str):
            spec[field] = [spec[field]]
    texts = wanted.get(TEXT_CONTAINS) or []
    return spec, [texts] if isinstance(texts, str) else [str(t) for t in texts]
