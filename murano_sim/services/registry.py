"""A solution's services: every service built from its plugin, over one state, one clock and one ticker.

`Services` is what the runtime calls through: each service is a Dispatcher (dispatcher.py) over a
local model or an http API (whose local backend, when its settings say `backend: local`, is the
plugin's `wire` factory, mounted behind the transport). It also owns what the services share: the
solution's state, its clock (and `advance`), the one ticker, the events they emit, and the call
counts that Config.usage reports. Nothing here names a service.
"""

from __future__ import annotations

import collections
import copy
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from functools import cache
from pathlib import Path
from typing import Any

import requests

from ..config import Config, check_live_credentials, merge, yamlfile
from ..config.era import effective_era
from ..errors import ConfigError
from ..state import State, snapshots
from ..state.clock import Clock, DueSource, OffsetClock, advance_through, is_manual
from ..state.ticker import Ticker
from .backends import LocalBackends
from .control import Control, ModelControl
from .dispatcher import CallOutcome, Dispatcher, LocalService, Service, load_model
from .executors import LocalExecutor, WSGIAdapter
from .host import EventSink, EventTranslation, ServiceHost
from .plugin import ServicePlugin, discover, loaded
from .spec import ServiceSpec
from .standin import standin_service

log = logging.getLogger("murano_sim.services")

# Where a service's local backend is mounted behind the transport; the .invalid TLD never resolves.
LOCAL_BASE_URL = "http://{alias}-local.invalid"
# Settings every http service's config.yaml section may carry besides Murano's parameters.
HTTP_SETTINGS = ("backend", "base_url", "timeout_seconds", "retries", "backoff_seconds")
KNOWN_FILE = Path(__file__).with_name("known.yaml")


def builtin_specs() -> list[ServiceSpec]:
    """Every service murano-sim emulates: the built-in folders and installed plugins (plugin.discover)."""
    return [plugin.read_spec() for plugin in discover()]


def emulated_services() -> list[str]:
    """The aliases of every service murano-sim emulates."""
    return [spec.alias for spec in builtin_specs()]


@cache
def _known() -> dict[str, Any]:
    """known.yaml: Murano services murano-sim does not emulate, and event-only sources."""
    return dict(yamlfile.load(KNOWN_FILE, what="service list") or {})


def murano_services() -> dict[str, str]:
    """Murano's services by alias and Lua global name: every emulated one, and those it only knows of."""
    named = {spec.alias: spec.global_names[0] for spec in builtin_specs()}
    return {**named, **{alias: name for alias, name in _known()["murano"].items() if alias not in named}}


def core_services() -> frozenset[str]:
    """Aliases of Murano's core services (Config.listServices "core"); every other alias is "exchange"."""
    return frozenset({p.alias for p in discover() if p.core} | set(_known()["core"]))


def event_sources() -> frozenset[str]:
    """Every alias a solution's event handler may name: each spec's, and the event-only sources."""
    return frozenset({*emulated_services(), *_known()["events"]})


def event_arguments() -> dict[str, dict[str, str]]:
    """alias -> {event (lower case): the handler's argument name}; "*" for any other event of that alias."""
    table = {spec.alias: dict(spec.events) for spec in builtin_specs()}
    for alias, events in _known()["events"].items():
        table.setdefault(alias, {}).update(events or {})
    return {alias: {event.lower(): arg for event, arg in events.items()} for alias, events in table.items()}


def argument_name(service: str, event: str) -> str:
    """The argument name of the handler for (service, event): event, data, request, service, ..."""
    events = _event_table().get(service.lower(), {})
    return events.get(event.lower()) or events.get("*", "event")


@cache
def _event_table() -> dict[str, dict[str, str]]:
    return event_arguments()


def __getattr__(name: str) -> Any:
    if name == "MURANO_SERVICES":  # the former constant, now data (specs + known.yaml)
        return murano_services()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Services(Mapping[str, Any]):
    """Every service of one solution, with the state, clock and events they share; a Mapping alias -> service."""

    def __init__(
        self,
        config: Config,
        *,
        backends: Mapping[str, Any] | None = None,
        clock: Clock | None = None,
        state: State | None = None,
        solution_configs: Mapping[str, Mapping[str, Any]] | None = None,
        host_services: Iterable[Any] = (),
        extra_specs: Iterable[ServiceSpec] = (),
        plugins: Iterable[ServicePlugin] = (),
    ) -> None:
        """backends: alias -> a local backend object the caller built (an Emulator on a ManualClock), handed
        to the plugin's wire factory instead of a new one. extra_specs: local services besides the plugins
        (stand-ins, a test's own service). plugins: services besides the built-in and installed ones."""
        given = dict(backends or {})
        self.config = config
        self.clock: Clock = clock or next(
            (b.clock for b in given.values() if getattr(b, "clock", None) is not None), None) or OffsetClock()
        self.state = state or State()
        self.solution_configs = {str(k): dict(v or {}) for k, v in (solution_configs or {}).items()}
        self.events: list[dict[str, Any]] = []  # emitted while no sink is attached
        self.on_event: EventSink | None = None
        # The solution's execution turn (SolutionApp sets its VM's): work that ends in an execution, a device
        # write and its data_in handler, takes it first, so the store and the handler are one turn (issue 21).
        self.turn: Callable[[], AbstractContextManager[None]] = nullcontext
        self.call_counts: collections.Counter[str] = collections.Counter()
        self.backends = LocalBackends(self.state)  # alias -> the local backend behind an http service
        self._sessions: list[requests.Session] = []
        self._ticker = Ticker(self.due_sources, self._defect, name="murano-sim-services-ticker")
        self.by_alias: dict[str, Any] = {}
        # secrets(): the last values found and their sorted answer; the services that may hold one
        self._secrets_cache: tuple[tuple[str, ...] | None, list[str]] = (None, [])
        self._holders: tuple[tuple[Any, ...], list[Any]] = ((), [])
        self._controls: dict[str, Control] = {}
        # (alias, event) -> [(subscriber alias, translate)]: services offering their own events for another's
        self._subscriptions: dict[tuple[str, str], list[tuple[str, EventTranslation]]] = {}
        # (alias, event) -> [callback(payload)]: services keeping what another's events carry (ServiceHost.observe)
        self._observers: dict[tuple[str, str], list[Callable[[Any], None]]] = {}
        self._hosts: list[ServiceHost] = []  # every service's host: each is told the era (use_era)
        self.era = effective_era(config.data.get("era"), None)
        self.layout_product: str | None = None  # the solution's product id from its layout (use_product)
        check_live_credentials(config)
        try:
            self.plugins = {plugin.alias: plugin for plugin in discover(extra=plugins)}
            specs = [*(plugin.read_spec() for plugin in self.plugins.values()), *extra_specs]
            self._refuse_emulated_standins({spec.alias for spec in specs})
            for spec in specs:
                plugin = self.plugins.get(spec.alias)
                if spec.kind == "http":
                    self._open_http(spec, plugin, given.get(spec.alias))
                else:
                    self._open_local(spec, self._model_factory(plugin))
            self._open_standins()
            if self.state.path is not None:
                self.build_all()  # a state file: every service restores from it now (a bad row: one line at start)
        except BaseException:
            self.close()
            raise
        for service in host_services:
            self.by_alias[service.alias] = service

    # -- the Mapping protocol over by_alias (runtime.services["keystore"]) -------------------------
    def __getitem__(self, alias: str) -> Any:
        return self.by_alias[alias]

    def __iter__(self) -> Iterator[str]:
        return iter(self.by_alias)

    def __len__(self) -> int:
        return len(self.by_alias)

    __hash__ = object.__hash__  # one solution's services: identity, not content

    def __repr__(self) -> str:
        return f"Services({sorted(self.by_alias)})"

    def __bool__(self) -> bool:
        return True  # a Services object is there even when it holds no service

    # -- building ----------------------------------------------------------------------------
    def _open_http(self, spec: ServiceSpec, plugin: ServicePlugin | None, given: Any) -> None:
        section = self.config.services.get(spec.alias)
        if not isinstance(section, Mapping):
            return
        if section.get("backend") != "local":
            self.by_alias[spec.alias] = Service(spec, section)
            return
        wire = loaded(plugin.wire if plugin is not None else None)
        if wire is None:
            raise ConfigError(f"{self.config.source}: services.{spec.alias}.backend: local: {spec.alias} has no "
                              "local backend (use backend: live)")
        host = self._host(spec, section)
        self.backends.add(spec.alias, lambda: wire(host, given))
        if given is not None:
            self.backends[spec.alias]  # a handed-in backend is there already: registered (its reset) now
        # The backend sits behind the transport: it receives byte for byte what the live API would.
        url = LOCAL_BASE_URL.format(alias=spec.alias)
        session = requests.Session()
        session.mount(url, WSGIAdapter(self.backends.app(spec.alias)))
        self._sessions.append(session)
        self.by_alias[spec.alias] = Service(spec, section, base_url=url, session=session)

    @staticmethod
    def _model_factory(plugin: ServicePlugin | None) -> Any:
        """make_model(host) from the plugin's `model` ("module:Class"), else the spec's implementation."""
        if plugin is None or not plugin.model:
            return None
        reference = plugin.model
        return lambda host: load_model(host.spec, host, reference)

    def build_all(self) -> None:
        """Build every model and local backend now, not on first use (each restores what the state holds)."""
        for alias in self.backends:
            self.backends[alias]
        for service in self.by_alias.values():
            if isinstance(service, Dispatcher) and isinstance(service.executor, LocalExecutor):
                _ = service.executor.model

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

    def _host(self, spec: ServiceSpec, section: Mapping[str, Any] | None = None) -> ServiceHost:
        section = dict(section if section is not None else self.config.services.get(spec.alias) or {})
        host = ServiceHost(
            alias=spec.alias, spec=spec, parameters=self._parameters_for(spec),
            settings={k: v for k, v in section.items()
                      if k in spec.settings or (spec.kind == "http" and k in HTTP_SETTINGS)},
            state=self.state, clock=self.clock, emit_event=self.emit, call_service=self.call_value, services=self,
            era=self.era, subscribe_event=self.subscribe, observe_event=self.observe,
        )
        self._hosts.append(host)
        return host

    def _open_local(
        self, spec: ServiceSpec, make_model: Any = None, *, parameters_as_defaults: bool = False
    ) -> None:
        """make_model(host): the model, when it is not the spec's implementation class (stand-ins, plugins);
        built on the service's first use when nothing configures it (a run pays only for the services it uses)."""
        host = self._host(spec)  # keys checked by config/schema.py
        service = LocalService(spec, host, parameters_as_defaults=parameters_as_defaults, make=make_model)
        if self.config.services.get(spec.alias) or self.solution_configs.get(spec.alias):
            _ = service.model  # settings of the user's: the model checks them now, at start (config stays strict)
        self.by_alias[spec.alias] = service
        self.state.on_reset(service.reset)

    def _local(self) -> Iterator[tuple[str, Dispatcher, ServiceHost]]:
        """Every service with a host of its own (local models): alias, service, host."""
        for alias, service in self.by_alias.items():
            if isinstance(service, Dispatcher) and isinstance(service.executor, LocalExecutor):
                yield alias, service, service.executor.host

    # -- controls ----------------------------------------------------------------------------------
    def control(self, alias: str) -> Control:
        """The one way anything outside a script reaches a service's data (console, fixtures, cases).
        A plugin's control factory gets the service's local backend if it has one, else the service."""
        if alias not in self._controls:
            backend = self.backends.get(alias)
            service = self.by_alias.get(alias)
            if backend is None and service is None:
                raise KeyError(alias)
            target: Any = backend if backend is not None else service
            plugin = self.plugins.get(alias)
            make = loaded(plugin.control if plugin is not None else None)
            if make is not None:
                control = make(target)
                if hasattr(control, "advance"):  # a control that moves time moves the solution's one clock
                    control.advance = self.advance
                self._controls[alias] = control
            else:
                self._controls[alias] = ModelControl(alias, target if backend is not None else target.model)
        return self._controls[alias]

    def controls(self) -> dict[str, Control]:
        """Every service's control, by alias (services of host code, with no model, have none)."""
        return {alias: self.control(alias) for alias, service in self.by_alias.items()
                if alias in self.backends or getattr(service, "model", None) is not None}

    @property
    def emulator(self) -> Any:
        """Deprecated: the first local backend (use control(alias)); None when there is none."""
        return next(iter(self.backends.values()), None)

    # -- calling -----------------------------------------------------------------------------
    def call(self, alias: str, operation: str, arguments: Any, *, deadline: float | None = None) -> CallOutcome:
        """Every service call passes here (counted for Config.usage); the bounds every call shares
        are the Dispatcher's."""
        self.call_counts[alias] += 1
        outcome: CallOutcome = self.by_alias[alias].call(operation, arguments, deadline=deadline)
        return outcome

    def call_value(self, alias: str, operation: str, arguments: Any = None) -> Any:
        """A service calling another (no script call-log entry): what Lua would get."""
        if alias not in self.by_alias:
            return {"error": f"service {alias!r} is not emulated", "status": 404, "type": "QueryError"}
        return self.call(alias, operation, arguments).value

    def secrets(self) -> list[str]:
        """Every secret any service holds now (config.yaml's, and the parameters that services'
        specs mark secret, wherever they came from), longest first: what output must never show.

        Asked after every run that logged or called a service: the values are read afresh each time
        (parameters change: a services/<alias>.yaml reload, Config.setParameters), from the services
        that can hold one only, and sorted again only when they differ from the last answer's."""
        found = (*self.config.secrets(), *(s for service in self._secret_holders() for s in service.secrets))
        cached = self._secrets_cache  # one tuple, replaced whole: another thread never sees half of it
        if cached[0] != found:
            cached = self._secrets_cache = (found, sorted({s for s in found if s}, key=len, reverse=True))
        return list(cached[1])

    def _secret_holders(self) -> list[Any]:
        """The services that may hold a secret: a spec without secret parameters never does (a spec does
        not change). Listed again when by_alias changes (a host service added)."""
        services = tuple(self.by_alias.values())
        cached = self._holders  # (the services it was made from, the holders among them), replaced whole
        if services != cached[0]:  # identity per item first: cheap when unchanged
            cached = self._holders = (services, [s for s in services if hasattr(s, "secrets")
                                                 and (not isinstance(s, Dispatcher) or s.spec.secret_keys())])
        return cached[1]

    def missing_globals(self) -> dict[str, str]:
        """Murano services this runtime does not provide: global name -> alias."""
        present = {name for s in self.by_alias.values() for name in s.global_names}
        return {name: alias for alias, name in murano_services().items() if name not in present}

    # -- configuration (Config uses these) ---------------------------------------------------
    def use_solution_configs(self, configs: Mapping[str, Mapping[str, Any]]) -> None:
        """A (re)loaded solution's services/<alias>.yaml documents: every local service's parameters are
        recomputed in place, and a model with `reconfigure()` is told (Timer's schedule, ...)."""
        self.solution_configs = {str(k): dict(v or {}) for k, v in configs.items()}
        for _, service, host in self._local():
            host.parameters.clear()
            host.parameters.update(self._parameters_for(service.spec))
            _reconfigure(service)

    def use_era(self, layout_era: int | None) -> None:
        """A (re)loaded solution's era from its layout (config.yaml's `era` wins): every service's host is told."""
        self.era = effective_era(self.config.data.get("era"), layout_era)
        for host in self._hosts:
            host.era = self.era

    def use_product(self, product_id: str | None) -> None:
        """A (re)loaded solution's own product id (a MuranoCLI project's); config.yaml's
        services.config.solution.products wins (services/identity.py)."""
        self.layout_product = product_id

    def parameters_snapshot(self) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """Every local service's parameters and the solution configs, to give back to restore_parameters."""
        local = {alias: copy.deepcopy(host.parameters) for alias, _, host in self._local()}
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
            _reconfigure(service)

    def parameters(self, alias: str) -> dict[str, Any]:
        host = getattr(self.by_alias.get(alias), "host", None)
        if isinstance(host, ServiceHost):
            return host.parameters
        return dict(self.solution_configs.get(alias, {}))

    def set_parameters(self, alias: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """Merge parameters into a service's configuration; returns the new configuration."""
        host = getattr(self.by_alias.get(alias), "host", None)
        if isinstance(host, ServiceHost):
            host.parameters.update(parameters)
            return host.parameters
        merged = {**self.solution_configs.get(alias, {}), **parameters}
        self.solution_configs[alias] = merged
        return merged

    # -- events ------------------------------------------------------------------------------
    def emit(self, alias: str, event: str, payload: Any) -> None:
        """A service's event for the solution's handlers (kept in `events` while none is attached);
        the services observing it see it first."""
        for observe in self._observers.get((alias, event), ()):
            observe(payload)
        if self.on_event is not None:
            self.on_event(alias, event, payload)
        else:
            self.events.append({"service": alias, "event": event, "payload": payload})

    def subscribe(self, subscriber: str, alias: str, event: str, translate: EventTranslation) -> None:
        """`subscriber` offers its own events for each `event` of `alias` (ServiceHost.subscribe)."""
        self._subscriptions.setdefault((alias, event), []).append((subscriber, translate))

    def observe(self, alias: str, event: str, callback: Callable[[Any], None]) -> None:
        """callback(payload) for every `event` of `alias`, handled or not (ServiceHost.observe)."""
        self._observers.setdefault((alias, event), []).append(callback)

    def alternatives(self, alias: str, event: str, payload: Any) -> list[tuple[str, str, Any]]:
        """The other services' events offered for this one, as (alias, event, payload), in subscription
        order: the solution runs the first that has a handler of its own, else the event itself."""
        found: list[tuple[str, str, Any]] = []
        for subscriber, translate in self._subscriptions.get((alias, event), ()):
            found.extend((subscriber, own_event, own_payload) for own_event, own_payload in translate(payload))
        return found

    # -- time ------------------------------------------------------------------------------------
    def due_sources(self) -> list[DueSource]:
        """Every model and local backend with work that becomes due (next_due/run_due)."""
        candidates = [*self.backends.values(), *(getattr(s, "model", None) for s in self.by_alias.values())]
        return [c for c in candidates if hasattr(c, "next_due") and hasattr(c, "run_due")]

    def advance(self, seconds: float) -> None:
        """Move the clock forward; everything that becomes due runs, in time order, before this returns."""
        advance_through(self.clock, seconds, self.due_sources())

    def run_due(self) -> None:
        for source in self.due_sources():
            source.run_due()

    def start_ticker(self, interval: float = 0.2) -> None:
        """On a clock that moves by itself, run what becomes due in the background (serve): one ticker."""
        if self._ticker.running or is_manual(self.clock) or not self.due_sources():
            return
        self._ticker.interval = interval
        self._ticker.start()

    def _defect(self, source: DueSource, exc: Exception) -> None:
        """A defect in one due source: its own report (a backend keeps it for the pytest plugin), else a log."""
        report = getattr(source, "defect", None)
        if report is not None:
            report("the lifecycle ticker", exc)
        else:
            log.error("defect in %r while running what was due", source, exc_info=exc)

    # -- lifetime ------------------------------------------------------------------------------
    def reset(self) -> None:
        """Every service back to its seeded state (each registered with State.on_reset)."""
        self.state.reset()
        self.events.clear()
        self.call_counts.clear()

    def save_snapshot(self, name: str, solution: str) -> dict[str, Any]:
        """The whole state and the clock's position, kept under `name` (state/snapshots.py)."""
        self.build_all()  # every service's tables exist in every snapshot
        return snapshots.save(self.state, name, solution=solution, clock=self.clock.now())

    def load_snapshot(self, name: str, solution: str) -> None:
        """The state as saved under `name`, and the clock back at its position then (UsageError: nothing changed)."""
        self.build_all()
        position = snapshots.load(self.state, name, solution=solution)
        move = getattr(self.clock, "set", None)
        if move is not None:  # a SystemClock stays where it is
            move(position)
        self.events.clear()

    def close(self) -> None:
        self._ticker.stop()
        for service in self.by_alias.values():
            close = getattr(service, "close", None)
            if close is not None:
                close()
        for session in self._sessions:
            session.close()
        for backend in self.backends.built():
            close = getattr(backend, "close", None)
            if close is not None:
                close()
        self.state.close()


def _reconfigure(service: Any) -> None:
    reconfigure = getattr(service.model, "reconfigure", None)
    if reconfigure is not None:
        reconfigure()
