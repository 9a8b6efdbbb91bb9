"""What a service's model sees of the house (ServiceHost), and the error vocabulary every service shares.

Murano answers a refused call with an error table {error, status, type}; a model raises ServiceError
for one. These names are defined here once: the dispatcher, both executors, the transport, the
models and the console all import them from this module.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from ..config.era import CURRENT_ERA
from ..state import State
from ..state.clock import Clock, epoch_seconds
from .spec import ServiceSpec

QUERY_ERROR, SERVER_ERROR = "QueryError", "ServerError"
STATUS_BAD_REQUEST = 400
# What Murano hands a script for an HTTP 204 (`status_code` is the deprecated spelling code still reads).
NO_CONTENT: dict[str, Any] = {"status": 204, "status_code": 204}
# The last era whose platform gave nil for an operation without content: its code reads any
# `status`/`status_code` as an error (docs/fidelity-results.md).
LAST_NIL_ERA = 2019


def no_content(era: int) -> dict[str, Any] | None:
    """A successful operation without content, as the solution's era received it."""
    return None if era <= LAST_NIL_ERA else dict(NO_CONTENT)


def error_table(message: str, status: int, error_type: str) -> dict[str, Any]:
    # status_code: the deprecated spelling that code in the wild still reads (ret.status_code)
    return {"error": message, "status": status, "type": error_type, "status_code": status}


class ServiceError(Exception):
    """A service's refusal, as Murano's error table {error, status, type}."""

    def __init__(self, status: int, message: str, error_type: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = error_type or (QUERY_ERROR if status < 500 else SERVER_ERROR)

    def table(self) -> dict[str, Any]:
        return error_table(self.message, self.status, self.type)


# emit(alias, event, payload): an event for the solution's handlers; a payload is any value (Scripts.trigger data)
EventSink = Callable[[str, str, Any], None]
# call(alias, operation, arguments) -> what Lua would get
ServiceCall = Callable[[str, str, Any], Any]
# translate(payload) -> [(event, payload), ...]: a service's own events for another service's event
EventTranslation = Callable[[Any], list[tuple[str, Any]]]
# subscribe(subscriber alias, source alias, source event, translate)
EventSubscribe = Callable[[str, str, str, EventTranslation], None]
# observe(source alias, source event, callback): callback(payload) for every such event, handled or not
EventObserve = Callable[[str, str, Callable[[Any], None]], None]


@dataclass
class ServiceHost:
    """What a model may use: its configuration, the solution's state and clock, events, other services."""

    alias: str
    spec: ServiceSpec
    parameters: dict[str, Any]  # Murano's configuration parameters, merged (Config.setParameters changes them)
    settings: dict[str, Any]  # murano-sim's own settings for this service (config.yaml only)
    state: State
    clock: Clock
    emit_event: EventSink
    call_service: ServiceCall
    services: Any = None  # the solution's Services (Config reads and changes other services' parameters)
    warnings: list[str] = field(default_factory=list)
    # While an operation runs: the script's deadline (time.monotonic()), for work that waits (Http).
    deadline: float | None = None
    # Which year's Murano the solution was written for (config/era.py): a generic setting every service gets.
    era: int = CURRENT_ERA
    subscribe_event: EventSubscribe | None = None  # the event router's (Services.subscribe)
    observe_event: EventObserve | None = None  # the event router's (Services.observe)

    @property
    def platform(self) -> Any:
        """The former name of `services` (kept for models written against it)."""
        return self.services

    def now(self) -> float:
        """Seconds since the epoch on the solution's clock."""
        return epoch_seconds(self.clock)

    def emit(self, event: str, payload: Any) -> None:
        self.emit_event(self.alias, event, payload)

    def turn(self) -> AbstractContextManager[None]:
        """The solution's execution turn, for work from outside an execution that ends in one (a device
        write): taken before the work, the handler it triggers runs in the same turn. Nothing to take
        when no solution is attached."""
        return self.services.turn() if self.services is not None else nullcontext()

    def call(self, alias: str, operation: str, arguments: Any = None) -> Any:
        return self.call_service(alias, operation, arguments)

    def subscribe(self, alias: str, event: str, translate: EventTranslation) -> None:
        """Offer this service's own events for each `event` of service `alias` (the older spelling of the
        same happening): the solution runs the first of them that has a handler, never two."""
        if self.subscribe_event is not None:
            self.subscribe_event(self.alias, alias, event, translate)

    def observe(self, alias: str, event: str, callback: Callable[[Any], None]) -> None:
        """callback(payload) for every `event` of service `alias`, before the solution's handler runs and
        whether or not it has one (Device v1 keeps the datapoints of Device2's writes)."""
        if self.observe_event is not None:
            self.observe_event(alias, event, callback)
