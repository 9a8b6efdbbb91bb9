"""A solution's services: every emulated service built from its spec, over one state and one clock.

`Services` is what the runtime calls through: Twilio over its transport (the live API or the
local emulator), Murano's own services in-process. It also owns what the services share: the
solution's state, its clock (and `advance`), the events they emit, and the call counts that
Config.usage reports. Nothing outside a service's own files names a service.
"""

from __future__ import annotations

import collections
import copy
import logging
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import requests

from ..config import Config, check_live_credentials, merge
from ..errors import ConfigError
from ..lua.convert import LimitReached
from ..state import State
from ..state.clock import Clock, DueSource, OffsetClock, advance_through, is_manual
from ..state.ticker import Ticker
from .bounds import MAX_ARGUMENT_BYTES, oversize
from .dispatcher import CallOutcome, Service, error_table, redacted_record
from .local import EventSink, LocalService, ServiceHost
from .plugin import discover
from .spec import ServiceSpec
from .standin import standin_service

# Where the runtime mounts the in-process emulator; the .invalid TLD never resolves.
LOCAL_BASE_URL = "http://twilio-emulator.invalid"
# Settings every http service's config.yaml section may carry besides Murano's parameters.
HTTP_SETTINGS = ("backend", "base_url", "timeout_seconds", "retries", "backoff_seconds")

# Murano's services by alias and global name: a script that uses one murano-sim does not emulate
# gets a clear error naming it, instead of "attempt to index global".
MURANO_SERVICES = {
    "keystore": "Keystore", "tsdb": "Tsdb", "timeseries": "Timeseries", "config": "Config", "timer": "Timer",
    "user": "User", "device2": "Device2", "device": "Device", "email": "Email", "interface": "Interface",
    "scripts": "Scripts", "http": "Http", "websocket": "Websocket", "webservice": "Webservice",
    "twilio": "Twilio", "content": "Content", "spms": "Spms", "mqtt": "Mqtt",
}


def builtin_specs() -> list[ServiceSpec]:
    """Every service murano-sim emulates: the built-in folders and installed plugins (plugin.discover)."""
    return [plugin.read_spec() for plugin in discover()]


def emulated_services() -> list[str]:
    """The aliases of every service murano-sim emulates."""
    return [spec.alias for spec in builtin_specs()]


class Services:
    """Every service of one solution, with the state, clock and events they share."""

    def __init__(
        self,
        config: Config,
        *,
        emulator: Any = None,
        clock: Clock | None = None,
        state: State | None = None,
        solution_configs: Mapping[str, Mapping[str, Any]] | None = None,
        host_services: Iterable[Any] = (),
        extra_specs: Iterable[ServiceSpec] = (),
    ) -> None:
        """extra_specs: services besides the shipped ones (stand-ins, a test's own local service)."""
        self.config = config
        self.clock: Clock = clock or (emulator.clock if emulator is not None else OffsetClock())
        self.state = state or State()
        self.solution_configs = {str(k): dict(v or {}) for k, v in (solution_configs or {}).items()}
        self.events: list[dict[str, Any]] = []  # emitted while no sink is attached
        self.on_event: EventSink | None = None
        self.call_counts: collections.Counter[str] = collections.Counter()
        self.emulator: Any = None
        self._sessions: list[requests.Session] = []
        self._ticker: Ticker | None = None
        self.by_alias: dict[str, Any] = {}
        check_live_credentials(config)
        try:
            specs = [*builtin_specs(), *extra_specs]
            self._refuse_emulated_standins({spec.alias for spec in specs})
            for spec in specs:
                if spec.kind == "http":
                    self._open_http(spec, emulator)
                else:
                    self._open_local(spec)
            self._open_standins()
        except BaseException:
            self.close()
            raise
        for service in host_services:
            self.by_alias[service.alias] = service

    # -- building ----------------------------------------------------------------------------
    def _open_http(self, spec: ServiceSpec, emulator: Any) -> None:
        section = self.config.services.get(spec.alias)
        if not isinstance(section, Mapping):
            return
        if section.get("backend") != "local":
            self.by_alias[spec.alias] = Service(spec, section)
            return
        if emulator is None:
            from .twilio import Emulator

            emulator = Emulator(self.config, clock=self.clock, state=self.state)
        self.emulator = emulator
        from .twilio import WSGIAdapter

        # The emulator sits behind the transport: it receives byte for byte what Twilio would.
        session = requests.Session()
        session.mount(LOCAL_BASE_URL, WSGIAdapter(emulator.wsgi_app))
        self._sessions.append(session)
        self.by_alias[spec.alias] = Service(spec, section, base_url=LOCAL_BASE_URL, session=session)

    def _refuse_emulated_standins(self, emulated: set[str]) -> None:
        for alias, section in self.config.services.items():
            if alias in emulated and isinstance(section, Mapping) and "standin" in section:
                raise ConfigError(
                    f"{self.config.source}: services.{alias}.standin: {alias} is emulated; a stand-in is for a "
                    "service murano-sim does not provide"
                )

    def _open_standins(self) -> None:
        """Every services.<alias> of config.yaml with a `standin` key: a service murano-sim does not emulate."""
        for alias, section in self.config.services.items():
            if not isinstance(section, Mapping) or "standin" not in section:
                continue
            spec, make_model = standin_service(
                str(alias), section, Path(self.config.base_dir), self.config.source, self.config.limits
            )
            self._open_local(spec, make_model, parameters_as_defaults=True)

    def _parameters_for(self, spec: ServiceSpec) -> dict[str, Any]:
        """Built-in defaults, then the solution's services/<alias>.yaml, then config.yaml (the local file wins)."""
        section = self.config.services.get(spec.alias) or {}
        given = {k: v for k, v in section.items() if k in spec.config_keys}
        return merge(merge(spec.defaults(), self.solution_configs.get(spec.alias, {})), given)

    def use_solution_configs(self, configs: Mapping[str, Mapping[str, Any]]) -> None:
        """A (re)loaded solution's services/<alias>.yaml documents: every local service's parameters are
        recomputed in place, and a model with `reconfigure()` is told (Timer's schedule, ...)."""
        self.solution_configs = {str(k): dict(v or {}) for k, v in configs.items()}
        for service in self.by_alias.values():
            if isinstance(service, LocalService):
                parameters = service.host.parameters
                parameters.clear()
                parameters.update(self._parameters_for(service.spec))
                reconfigure = getattr(service.model, "reconfigure", None)
                if reconfigure is not None:
                    reconfigure()

    def parameters_snapshot(self) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """Every local service's parameters and the solution configs, to give back to restore_parameters."""
        local = {alias: copy.deepcopy(service.host.parameters) for alias, service in self.by_alias.items()
                 if isinstance(service, LocalService)}
        return local, copy.deepcopy(self.solution_configs)

    def restore_parameters(self, snapshot: tuple[dict[str, Any], dict[str, dict[str, Any]]]) -> None:
        """Undo Config.setParameters and the like: parameters that differ from the snapshot are put
        back (a changed model is told with `reconfigure()`). Cheap when nothing changed."""
        local, solution_configs = snapshot
        if self.solution_configs != solution_configs:
            self.solution_configs = copy.deepcopy(solution_configs)
        for alias, parameters in local.items():
            service = self.by_alias[alias]
            if service.host.parameters == parameters:
                continue
            service.host.parameters.clear()
            service.host.parameters.update(copy.deepcopy(parameters))
            reconfigure = getattr(service.model, "reconfigure", None)
            if reconfigure is not None:
                reconfigure()

    def _open_local(
        self, spec: ServiceSpec, make_model: Any = None, *, parameters_as_defaults: bool = False
    ) -> None:
        """make_model(host): the model, when it is not the spec's implementation class (stand-ins)."""
        section = dict(self.config.services.get(spec.alias) or {})  # keys checked by config_schema.py
        parameters = self._parameters_for(spec)
        settings = {k: v for k, v in section.items() if k in spec.settings}
        host = ServiceHost(
            alias=spec.alias, spec=spec, parameters=parameters, settings=settings, state=self.state,
            clock=self.clock, emit_event=self.emit, call_service=self.call_value, platform=self,
        )
        model = make_model(host) if make_model is not None else None
        service = LocalService(spec, host, model, parameters_as_defaults=parameters_as_defaults)
        self.by_alias[spec.alias] = service
        self.state.on_reset(service.reset)

    # -- calling -----------------------------------------------------------------------------
    def call(self, alias: str, operation: str, arguments: Any, *, deadline: float | None = None) -> CallOutcome:
        """Every service call passes here: past the caller's deadline it fails as the time limit does
        (LimitReached), and arguments above MAX_ARGUMENT_BYTES are refused before any service sees them."""
        if deadline is not None and time.monotonic() >= deadline:
            raise LimitReached("time")
        self.call_counts[alias] += 1
        service = self.by_alias[alias]
        if oversize(arguments, MAX_ARGUMENT_BYTES):
            label = f"{service.global_names[0]}.{operation}"
            value = error_table(f"{label}: arguments: larger than {MAX_ARGUMENT_BYTES} bytes", 413, "QueryError")
            return redacted_record(alias, operation, "[arguments too large]", value, time.perf_counter(), [], 413,
                                   True, [])
        return service.call(operation, arguments, deadline=deadline)

    def call_value(self, alias: str, operation: str, arguments: Any = None) -> Any:
        """A service calling another (no script call-log entry): what Lua would get."""
        if alias not in self.by_alias:
            return {"error": f"service {alias!r} is not emulated", "status": 404, "type": "QueryError"}
        return self.call(alias, operation, arguments).value

    def secrets(self) -> list[str]:
        """Every secret any service holds now (config.yaml's, and the parameters that services'
        specs mark secret, wherever they came from), longest first: what output must never show."""
        found = set(self.config.secrets())
        for service in self.by_alias.values():
            found.update(getattr(service, "secrets", ()))
        return sorted((s for s in found if s), key=len, reverse=True)

    def missing_globals(self) -> dict[str, str]:
        """Murano services this runtime does not provide: global name -> alias."""
        present = {name for s in self.by_alias.values() for name in s.global_names}
        return {name: alias for alias, name in MURANO_SERVICES.items() if name not in present}

    # -- configuration (Config uses these) ---------------------------------------------------
    def parameters(self, alias: str) -> dict[str, Any]:
        service = self.by_alias.get(alias)
        if isinstance(service, LocalService):
            return service.host.parameters
        return dict(self.solution_configs.get(alias, {}))

    def set_parameters(self, alias: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """Merge parameters into a service's configuration; returns the new configuration."""
        service = self.by_alias.get(alias)
        if isinstance(service, LocalService):
            service.host.parameters.update(parameters)
            return service.host.parameters
        merged = {**self.solution_configs.get(alias, {}), **parameters}
        self.solution_configs[alias] = merged
        return merged

    # -- events ------------------------------------------------------------------------------
    def emit(self, alias: str, event: str, payload: dict[str, Any]) -> None:
        """A service's event for the solution's handlers (kept in `events` while none is attached)."""
        if self.on_event is not None:
            self.on_event(alias, event, payload)
        else:
            self.events.append({"service": alias, "event": event, "payload": payload})

    # -- time ------------------------------------------------------------------------------------
    def due_sources(self) -> list[DueSource]:
        sources: list[DueSource] = []
        if self.emulator is not None and hasattr(self.emulator, "next_due"):
            sources.append(self.emulator)
        for service in self.by_alias.values():
            model = getattr(service, "model", None)
            if hasattr(model, "next_due") and hasattr(model, "run_due"):
                sources.append(model)
        return sources

    def advance(self, seconds: float) -> None:
        """Move the clock forward; everything that becomes due runs, in time order, before this returns."""
        advance_through(self.clock, seconds, self.due_sources())

    def run_due(self) -> None:
        for source in self.due_sources():
            source.run_due()

    def start_ticker(self, interval: float = 0.2) -> None:
        """On a clock that moves by itself, run what becomes due in the background (serve)."""
        if self._ticker is not None or is_manual(self.clock):
            return
        sources = self.due_sources()
        if not sources:
            return
        self._ticker = Ticker(lambda: sources, self._ticker_defect, interval=interval,
                              name="murano-sim-services-ticker")
        self._ticker.start()

    @staticmethod
    def _ticker_defect(source: Any, exc: Exception) -> None:
        report = getattr(source, "ticker_defect", None)
        if report is not None:
            report(source, exc)
        else:  # a model's defect: logged with its traceback, the ticker goes on
            logging.getLogger("murano_sim").error("defect in the ticker running %r", source, exc_info=exc)

    # -- lifetime ------------------------------------------------------------------------------
    def reset(self) -> None:
        """Every service back to its seeded state."""
        self.state.reset()
        if self.emulator is not None and self.emulator.state is not self.state:  # one handed in, on its own
            self.emulator.reset()
        self.events.clear()
        self.call_counts.clear()

    def close(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
        for service in self.by_alias.values():
            close = getattr(service, "close", None)
            if close is not None:
                close()
        for session in self._sessions:
            session.close()
        if self.emulator is not None:
            self.emulator.close()
        self.state.close()

