"""What each console view shows, read from the solution's services (JSON-ready dicts).

The console reads and changes the services through their controls (services/<alias>/control.py,
the same objects the fixtures and yaml cases use), never through a model or a script's call log.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from ..solution.report import solution_report


class BadInput(Exception):
    """The console's caller sent something unusable: a 400 with this one line."""


def control(app: Any, alias: str) -> Any:
    """A service's control (the only way the console reaches a service's data)."""
    try:
        return app.runtime.platform.control(alias)
    except KeyError:
        raise BadInput(f"the {alias} service is not emulated in this configuration") from None


def services_view(app: Any) -> dict[str, Any]:
    """Every emulated service: its alias, global names and its control's actions."""
    platform = app.runtime.platform
    return {"services": [
        {"alias": alias, "globals": list(getattr(platform.by_alias[alias], "global_names", ())),
         "control": type(found).__name__, "actions": sorted(found.actions)}
        for alias, found in sorted(platform.controls().items())
    ]}


def service_action(app: Any, alias: str, action: str, fields: Mapping[str, Any]) -> Any:
    """POST /api/services/<alias>/<seed|reset|action>: answers what the action answers (seed and
    reset: what the service holds afterwards); events it caused reach the solution's handlers."""
    found = control(app, alias)
    if action == "seed":
        found.seed(dict(fields))
        result = found.inspect()
    elif action == "reset":
        found.reset()
        result = found.inspect()
    elif action in found.actions:
        perform = found.actions[action]
        try:
            inspect.signature(perform).bind(**fields)
        except TypeError as exc:
            raise BadInput(f"{alias}.{action}: {exc}") from None
        result = perform(**fields)
    else:
        known = ", ".join(["seed", "reset", *sorted(found.actions)])
        raise BadInput(f"{alias} has no action {action!r} (known: {known})")
    app.deliver_events()
    return result


# -- Solution ------------------------------------------------------------------------------------
def solution_view(app: Any) -> dict[str, Any]:
    try:
        solution = app.solution
    except ConfigError as exc:
        return {"load_error": str(exc)}
    report = solution_report(solution)
    report["load_error"] = None
    return report


# -- Clock ---------------------------------------------------------------------------------------
def clock_view(app: Any) -> dict[str, Any]:
    platform = app.runtime.platform
    now = platform.clock.now()
    due = [source.next_due() for source in platform.due_sources()]
    upcoming = min((d for d in due if d is not None), default=None)
    return {
        "now": now.isoformat(timespec="milliseconds"),
        "epoch": now.timestamp(),
        "offset_seconds": getattr(platform.clock, "offset", None),
        "next_due": upcoming.isoformat(timespec="milliseconds") if upcoming else None,
    }


def advance(app: Any, seconds: Any, executions: Any) -> dict[str, Any]:
    """Advance the solution's clock; answers the time before and after and what ran meanwhile."""
    try:
        amount = float(seconds)
    except (TypeError, ValueError):
        raise BadInput(f"seconds: expected a number, got {seconds!r}") from None
    if not 0 <= amount <= 10 * 365 * 86400:
        raise BadInput(f"seconds: must be from 0 to ten years, got {seconds!r}")
    before = clock_view(app)
    first = executions.last_id()
    app.runtime.platform.advance(amount)
    app.deliver_events()
    return {"before": before, "after": clock_view(app), "ran": executions.list(since=first)}
