"""The Emulator: one emulated Twilio (accounts, state, clock, webhooks) and its WSGI application."""

from __future__ import annotations

import collections
import http
import logging
import os
import threading
from datetime import datetime
from typing import Any

from ...errors import UsageError
from ...state import State
from ...state.clock import Clock, SystemClock, advance_through
from . import wire
from .backend import TwilioBackend
from .errors import TwilioError, code_for_status
from .models import API_VERSION, Call, Credentials, Media, Message, NumberRule, Webhook, number_rule, opt_keyword
from .routes import TwilioApp
from .seed import load_seed, seed_backend, seed_source
from .settings import SettingsSource, as_settings
from .store import MemoryStore, StateStore, check_state_file
from .webhooks import Delivery, attempt

log = logging.getLogger("murano_sim.emulator")

MAX_DELIVERIES = 10_000  # the record of webhook attempts keeps the most recent ones
MAX_REQUESTS = 1_000  # the record of API requests (newest kept) for the control plane


class Emulator:
    """A stateful stand-in for the parts of Twilio's REST API that Murano's operations use."""

    def __init__(
        self,
        settings: SettingsSource = None,
        *,
        clock: Clock | None = None,
        state: State | None = None,
        state_path: str | os.PathLike[str] | None = None,
    ) -> None:
        """settings: TwilioSettings, or a config they are read from. state: the solution's State, whose
        SQLite keeps the records (tables twilio_records, twilio_meta); state_path: a State file of the
        emulator's own (the standalone server); neither: records in memory only."""
        self.settings = as_settings(settings)
        self.clock: Clock = clock or SystemClock()
        options = self.settings
        self.primary_account_sid: str = options.account_sid
        self._accounts: dict[str, str] = {}
        if self.primary_account_sid and options.auth_token:
            self._accounts[self.primary_account_sid] = options.auth_token
        test_accounts = set()
        for account in options.accounts:
            self._accounts.setdefault(str(account["AccountSid"]), str(account["AuthToken"]))
            if account.get("test"):
                test_accounts.add(str(account["AccountSid"]))
        magic_for_all = options.magic_numbers == "all"
        self.credentials: dict[str, Credentials] = {
            sid: Credentials(test=sid in test_accounts, magic=magic_for_all or sid in test_accounts)
            for sid in self._accounts
        }
        self.base_url: str | None = None  # where a number's relative sms_url/voice_url ("/path") point
        self.requests: collections.deque[dict[str, Any]] = collections.deque(maxlen=MAX_REQUESTS)
        self._config_rules = [number_rule(n, r, from_config=True) for n, r in options.numbers.items()]
        self._runtime_rules: list[NumberRule] = []
        self._faults_set = 0  # faults injected at run time; those still pending at teardown went unused
        self.allow_hosts: list[str] = list(options.allow_hosts)
        self.deliveries: collections.deque[Delivery] = collections.deque(maxlen=MAX_DELIVERIES)
        self._faults: list[TwilioError] = []
        self._faults_lock = threading.Lock()
        self._defects: list[Exception] = []
        self._defects_lock = threading.Lock()
        self._owns_state = state is None and state_path is not None
        self.state = _open_state(state_path) if state is None and state_path is not None else state
        store = self._open_store()
        self._backend = TwilioBackend(
            store, self.clock, owned_numbers=list(options.owned_numbers),
            call_duration=options.call_duration, notify=self._notify, fetch=self._fetch,
            max_records=options.max_records, rules=self._config_rules,
            lock=self.state.lock if self.state is not None else None,
        )
        snapshot = store.get_meta("seed_snapshot")
        if snapshot is None:  # a fresh state: seed it, and remember the seeded state for reset()
            seed, base_dir = options.seed, options.base_dir
            seed_backend(self._backend, self.primary_account_sid, load_seed(seed, base_dir), options.call_duration,
                         source=seed_source(seed, base_dir, f"{options.source}: emulator.seed"))
            self._seed_numbers()
            snapshot = self._backend.snapshot()
            store.set_meta("seed_snapshot", snapshot)
        self._seed_snapshot = snapshot
        if self.state is not None and not self._owns_state:
            self.state.on_reset(self.restore_seed)  # the solution's reset: every service, this one too
        if isinstance(store, StateStore):
            if not store.write_through:
                self.state.on_save(self._save)  # type: ignore[union-attr]  # a StateStore has a state
            if not self._owns_state:
                self.state.on_load(self._reload)  # type: ignore[union-attr]  # a snapshot loaded
            with self._backend.lock:
                store.flush()  # a migrated or freshly seeded state is written once now
        self.wsgi_app = TwilioApp(self._backend, self._accounts, self._take_fault, self._defect,
                                  credentials=self.credentials, on_request=self.requests.appendleft,
                                  resolve=self.resolve_url)

    @property
    def config(self) -> Any:
        """The loaded Config the settings came from (None when TwilioSettings were handed in)."""
        return self.settings.config

    @property
    def ticking(self) -> bool:
        """Set while a background ticker applies the due lifecycle steps (requests then leave them to it)."""
        return self._backend.ticking

    @ticking.setter
    def ticking(self, value: bool) -> None:
        self._backend.ticking = value

    def _seed_numbers(self) -> None:
        """Every owned number, as an IncomingPhoneNumber of each live account."""
        routed = {r.number: r for r in self._config_rules if r.owned}
        for number in dict.fromkeys([*self._backend.owned_numbers, *routed]):
            rule = routed.get(number)
            for account_sid, who in self.credentials.items():
                if who.test:
                    continue
                routing = {}
                if rule is not None:
                    routing = {"sms_url": rule.sms_url, "sms_method": rule.sms_method,
                               "voice_url": rule.voice_url, "voice_method": rule.voice_method}
                self._backend.add_number(account_sid, number, **routing)

    def resolve_url(self, url: str | None) -> str | None:
        """A number's URL: a "/path" is taken from base_url (the solution `serve` runs)."""
        if url and url.startswith("/"):
            return (self.base_url or "").rstrip("/") + url if self.base_url else None
        return url

    def _open_store(self) -> MemoryStore:
        if self.state is None:
            return MemoryStore()
        with self.state.restoring():
            return StateStore(self.state, write_through=self.state.path is not None)

    def _reload(self) -> None:
        """State.reloaded(): the records read again from the State, as a snapshot left them."""
        with self._backend.lock:
            store = self._backend.store
            if isinstance(store, StateStore):
                store.reload()
            self._backend.reloaded()
            self.deliveries.clear()
            self.requests.clear()

    def _save(self) -> None:
        """State.save(): the records changed in memory since the last save, written into the State."""
        with self._backend.lock:
            self._backend.store.flush()

    def __repr__(self) -> str:
        return f"Emulator(accounts={len(self._accounts)}, clock={self.clock!r})"

    # --- inspection -------------------------------------------------------------------------

    def messages(self, account_sid: str | None = None) -> list[dict[str, Any]]:
        """Messages as Twilio's JSON, in creation order (every account's when account_sid is None)."""
        self._backend.run_due()
        with self._backend.lock:  # rendered under the state lock: never half a lifecycle step
            found = self._backend.records("messages", account_sid)
            return [wire.message_json(m) for m in found if isinstance(m, Message)]

    def calls(self, account_sid: str | None = None) -> list[dict[str, Any]]:
        self._backend.run_due()
        with self._backend.lock:
            return [wire.call_json(c) for c in self._backend.records("calls", account_sid) if isinstance(c, Call)]

    def media(self, account_sid: str | None = None) -> list[dict[str, Any]]:
        with self._backend.lock:
            return [wire.media_json(m) for m in self._backend.records("media", account_sid) if isinstance(m, Media)]

    # --- defects ----------------------------------------------------------------------------

    def _defect(self, where: str, exc: Exception) -> None:
        """An unexpected exception in one of the emulator's threads: logged with its traceback,
        and kept for take_defects() (the pytest plugin fails the running test with it)."""
        log.error("emulator defect in %s", where, exc_info=exc)
        with self._defects_lock:
            self._defects.append(exc)

    def ticker_defect(self, source: object, exc: Exception) -> None:
        """A defect the ticker met running this emulator's due steps (the ticker goes on)."""
        self._defect("the lifecycle ticker", exc)

    def defect(self, where: str, exc: Exception) -> None:
        """A defect the solution's ticker caught in this backend (kept for take_defects())."""
        self._defect(where, exc)

    def take_defects(self) -> list[Exception]:
        """The unexpected exceptions recorded since the last call (oldest first), then forgets them."""
        with self._defects_lock:
            found, self._defects = self._defects, []
        return found

    # --- control ----------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Move a manual clock forward; lifecycle steps now due happen and their callbacks are made."""
        if getattr(self.clock, "advance", None) is None:
            raise UsageError("Emulator.advance() needs a ManualClock (pass clock=ManualClock())")
        advance_through(self.clock, seconds, [self])

    def next_due(self) -> datetime | None:
        """When the next lifecycle step is due; the solution's clock stops there on advance."""
        return self._backend.next_due()

    def run_due(self) -> None:
        """Apply the lifecycle steps due by now and make their callbacks."""
        self._backend.run_due()

    def fail_next(self, status: int, code: int | None = None, count: int = 1) -> None:
        """Answer the next `count` API requests with a Twilio error body (status, code)."""
        if not 400 <= status <= 599:
            raise UsageError(f"fail_next: status must be an HTTP error status (400-599), got {status}")
        if count < 1:
            raise UsageError(f"fail_next: count must be at least 1, got {count}")
        phrase = http.HTTPStatus(status).phrase if status in http.HTTPStatus._value2member_map_ else "Error"
        error = TwilioError(status, code if code is not None else code_for_status(status), phrase)
        with self._faults_lock:
            self._faults.extend([error] * count)
            self._faults_set += count

    def _take_fault(self) -> TwilioError | None:
        with self._faults_lock:
            return self._faults.pop(0) if self._faults else None

    def unused(self) -> list[str]:
        """Faults and run-time outcomes no request used (config.yaml's outcomes never count)."""
        with self._faults_lock:
            faults = len(self._faults)
        out = [f"{faults} fail_next fault(s) never used (no API request came)"] if faults else []
        out += [f"outcome for {rule.describe()} never used" for rule in self._runtime_rules if not rule.used]
        return out

    # --- the phone network ------------------------------------------------------------------

    def outcome(self, number: str, **rule: Any) -> NumberRule:
        """How the network treats `number` from now on (sms=, error_code=, call=, answered_by=, sms_url=, ...)."""
        try:
            parsed = number_rule(number, rule)
        except ValueError as exc:
            raise UsageError(f"outcome: {exc}") from None
        with self._backend.lock:
            self._backend.rules[number] = parsed
            self._runtime_rules.append(parsed)
            if parsed.owned:
                parsed.used = True  # routing is configuration, not an expectation
                self._backend.add_number(self.primary_account_sid, number, sms_url=parsed.sms_url,
                                         sms_method=parsed.sms_method, voice_url=parsed.voice_url,
                                         voice_method=parsed.voice_method)
        return parsed

    def _call(self, sid: str) -> Call:
        self._backend.run_due()
        with self._backend.lock:
            record = self._backend.store.get(sid)
        if not isinstance(record, Call):
            raise UsageError(f"no call {sid}")
        return record

    def transcript(self, sid: str) -> list[dict[str, Any]]:
        """What happened on a call, verb by verb ({"verb": "Say", "text": ...}, {"verb": "Gather", "digits": "1"})."""
        call = self._call(sid)
        with self._backend.lock:
            return [dict(entry) for entry in call.transcript]

    def press(self, sid: str, digits: str) -> None:
        """The callee (or caller, inbound) presses keys while the call's <Gather> waits."""
        if not digits or any(ch not in "0123456789*#w" for ch in digits):
            raise UsageError(f"press: {digits!r} is not keypad digits (0-9, *, #)")
        call = self._call(sid)
        with self._backend.steps_lock:
            self._backend.voice.input(call, digits=digits)
        self._backend.run_due()

    def speak(self, sid: str, text: str) -> None:
        """The person on the line says `text` while a speech <Gather> waits."""
        call = self._call(sid)
        with self._backend.steps_lock:
            self._backend.voice.input(call, speech=str(text))
        self._backend.run_due()

    def hangup(self, sid: str) -> None:
        """The person on the line hangs up (a call not yet answered ends canceled)."""
        call = self._call(sid)
        with self._backend.steps_lock:
            if not self._backend.end_call(call, "completed"):
                raise UsageError(f"hangup: call {sid} is already {call.status}")
        self._backend.run_due()

    def inbound_call(self, *, from_: str, to: str) -> dict[str, Any]:
        """A call from `from_` to an owned number `to`: its voice_url is fetched and run."""
        number = self._backend.owned_number(to)
        url = self.resolve_url(number.voice_url) if number is not None else None
        if number is None or not url:
            raise UsageError(f"inbound call: {to} has no voice_url (set it in emulator.numbers, "
                             "with outcome(), or through IncomingPhoneNumbers)")
        call = self._backend.inbound_call(number.account_sid, from_=from_, to=to, url=url, method=number.voice_method)
        self._backend.run_due()
        with self._backend.lock:
            return wire.call_json(call)

    def receive_message(
        self,
        *,
        to: str,
        from_: str,
        body: str,
        url: str | None = None,
        method: str = "POST",
        account_sid: str | None = None,
        media_urls: tuple[str, ...] | list[str] = (),
    ) -> dict[str, Any]:
        """An inbound SMS: stored as received and POSTed as Twilio's signed webhook to `url`, or else
        to the owned number's sms_url. STOP/START/HELP are answered as Twilio's opt-out handling does."""
        number = self._backend.owned_number(to, account_sid)
        account_sid = account_sid or (number.account_sid if number else None) or self.primary_account_sid
        if account_sid not in self._accounts:
            raise UsageError(f"receive_message: unknown account {account_sid}")
        if url is None and number is not None and number.sms_url:  # the number's own webhook
            url, method = self.resolve_url(number.sms_url), number.sms_method
        keyword = opt_keyword(body)
        with self._backend.lock:
            message = self._backend.receive_message(account_sid, to=to, from_=from_, body=body)
            params = _inbound_params(message, media_urls)
            if keyword in ("STOP", "START"):
                params["OptOutType"] = keyword
            hook = Webhook("inbound-sms", url, method, params, account_sid) if url else None
            rendered = wire.message_json(message)
            if media_urls:
                for media_url in media_urls:
                    self._backend.add_media(message, media_url, message.date_created)
                message.num_media = len(media_urls)
                rendered = wire.message_json(message)
        if keyword is not None:  # Twilio's default opt-out handling answers for the number
            self._backend.opt(account_sid, to, from_, keyword)
        if hook is not None:  # outside the state lock: the receiver may call the API back
            self._notify(hook)
        return rendered

    def reset(self) -> None:
        """Back to the seeded state: seeded records (same SIDs), no deliveries, no pending faults.

        Waits for a lifecycle step in flight (and its webhooks) to finish, so none lands after it.
        """
        with self._backend.steps_lock:
            self.restore_seed()

    def restore_seed(self) -> None:
        """reset() without waiting for a step in flight: safe under the State's lock (State.on_reset).
        A step in flight then finishes without effect: its webhooks are not recorded or made."""
        with self._backend.lock:
            self._backend.restore(self._seed_snapshot)
            self.deliveries.clear()
            self.requests.clear()
            with self._faults_lock:
                self._faults.clear()
            self._backend.rules = {rule.number: rule for rule in self._config_rules}
            self._runtime_rules.clear()

    def close(self) -> None:
        if self._owns_state and self.state is not None:
            self.state.close()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- webhooks ---------------------------------------------------------------------------

    def _send(self, hook: Webhook) -> Delivery:
        generation = self._backend.generation
        token = self._accounts.get(hook.account_sid, "")
        try:
            delivery = attempt(hook.url, hook.params, token, hook.method, self.allow_hosts, kind=hook.kind)
        except Exception as exc:  # attempt() reports every expected failure itself: this is a defect
            self._defect(f"the {hook.kind} webhook sender", exc)
            delivery = Delivery(hook.kind, hook.url, hook.method, dict(hook.params), error="emulator defect")
        if self._backend.generation == generation:  # made before a reset: not part of the state after it
            self.deliveries.append(delivery)
        return delivery

    def _notify(self, hook: Webhook) -> bool:
        return self._send(hook).ok

    def _fetch(self, hook: Webhook) -> Delivery:
        return self._send(hook)


def _open_state(path: str | os.PathLike[str]) -> State:
    """The standalone emulator's own state file; a file that does not read is refused before it is opened."""
    check_state_file(path)
    try:
        return State(path)
    except UsageError as exc:
        raise UsageError(f"--state {os.fspath(path)}: cannot use as a SQLite state file ({exc})") from None


def _inbound_params(message: Message, media_urls: tuple[str, ...] | list[str] = ()) -> dict[str, str]:
    params = {
        "MessageSid": message.sid, "SmsSid": message.sid, "SmsMessageSid": message.sid,
        "AccountSid": message.account_sid, "From": message.from_ or "", "To": message.to, "Body": message.body,
        "NumMedia": str(len(media_urls)), "NumSegments": str(message.num_segments), "SmsStatus": "received",
        "ApiVersion": API_VERSION,
    }
    for i, url in enumerate(media_urls):
        params[f"MediaUrl{i}"] = url
    return params
