"""Routing and request handling: Werkzeug parses, the backend decides, wire renders."""

from __future__ import annotations

import hmac
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from . import wire
from .backend import TwilioBackend
from .errors import TwilioError, authentication_failed, code_for_status, invalid_parameter, not_found
from .models import LIVE, CallRequest, Credentials, MessageRequest, check_callback, check_ttl

log = logging.getLogger("murano_sim.emulator")

_A = "/2010-04-01/Accounts/<account_sid>"
URL_MAP = Map(
    [
        Rule(f"{_A}/Messages.json", endpoint="messages", methods=["GET", "POST"]),
        Rule(f"{_A}/Messages/<sid>.json", endpoint="message", methods=["GET", "POST", "DELETE"]),
        Rule(f"{_A}/Messages/<message_sid>/Media.json", endpoint="media_list", methods=["GET"]),
        Rule(f"{_A}/Messages/<message_sid>/Media/<sid>.json", endpoint="media", methods=["GET", "DELETE"]),
        Rule(f"{_A}/Calls.json", endpoint="calls", methods=["GET", "POST"]),
        Rule(f"{_A}/Calls/<sid>.json", endpoint="call", methods=["GET", "POST", "DELETE"]),
        Rule(f"{_A}/Tokens.json", endpoint="tokens", methods=["POST"]),
        Rule(f"{_A}/IncomingPhoneNumbers.json", endpoint="numbers", methods=["GET"]),
        Rule(f"{_A}/IncomingPhoneNumbers/<sid>.json", endpoint="number", methods=["GET", "POST"]),
        Rule(f"{_A}.json", endpoint="account", methods=["GET"]),
    ],
    strict_slashes=False,
)
_FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
MAX_BODY_BYTES = 1024 * 1024
# The media content URL (the Media URI without .json): public, a redirect to where the media lives.
_CONTENT = Map([Rule(f"{_A}/Messages/<message_sid>/Media/<sid>", endpoint="content", methods=["GET"])])
# What test credentials may do (Twilio: send messages and make calls); the rest is 403 20008.
_TEST_ALLOWED = {("POST", "messages"), ("POST", "calls")}


class TwilioApp:
    """The WSGI application.

    `accounts` maps AccountSid to AuthToken. `before_request` runs first on every request and may
    return a TwilioError to answer with instead (fault injection).
    """

    def __init__(
        self,
        backend: TwilioBackend,
        accounts: Mapping[str, str],
        before_request: Callable[[], TwilioError | None] = lambda: None,
        on_defect: Callable[[str, Exception], None] | None = None,
        *,
        credentials: Mapping[str, Credentials] | None = None,
        on_request: Callable[[dict[str, Any]], None] | None = None,
        resolve: Callable[[str | None], str | None] = lambda url: url,
    ) -> None:
        self.backend = backend
        self.accounts = accounts
        self.before_request = before_request
        self.on_defect = on_defect
        self.credentials = credentials or {}
        self.on_request = on_request
        self.resolve = resolve

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        request.max_content_length = MAX_BODY_BYTES
        response = self.handle(request)
        response.headers["Twilio-Request-Id"] = "RQ" + uuid.uuid4().hex
        if self.on_request is not None:
            self.on_request(_logged(request, response, self.backend.clock.now().isoformat()))
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        if request.path.endswith(".json"):
            return self._handle_api(request)
        try:
            endpoint, values = _CONTENT.bind_to_environ(request.environ).match()
        except HTTPException:
            return self._handle_api(request)
        return self._content(request, **values)

    def _content(self, request: Request, account_sid: str, message_sid: str, sid: str) -> Response:
        media = self.backend.get_media(account_sid, message_sid, sid)
        if media is None:
            return wire.error_response(not_found(request.path))
        response = Response(status=302, content_type="text/plain; charset=utf-8")
        response.headers["Location"] = media.url  # Twilio redirects to where the media is; nothing is fetched
        return response

    def _handle_api(self, request: Request) -> Response:
        try:
            # Lifecycle steps due by now happen before anything is read, unless a background ticker
            # owns them: then a webhook to a solution served by this process, whose handler waits
            # for the script making this very request, cannot stall the request.
            if not self.backend.ticking:
                self.backend.run_due()
            injected = self.before_request()
            if injected is not None:
                raise injected
            account_sid = self._authenticate(request)
            adapter = URL_MAP.bind_to_environ(request.environ)
            try:
                endpoint, values = adapter.match()
            except NotFound:
                raise not_found(request.path) from None
            except MethodNotAllowed as exc:
                error = TwilioError(405, 20004, "Method not allowed")
                response = wire.error_response(error)
                response.headers["Allow"] = ", ".join(exc.valid_methods or [])
                return response
            values = dict(values)  # a Mapping: copied to take the account out
            if values.pop("account_sid") != account_sid:
                raise not_found(request.path)  # another account's resources do not exist for you
            who = self.credentials.get(account_sid, LIVE)
            if who.test and (request.method, endpoint) not in _TEST_ALLOWED:
                raise TwilioError(403, 20008, "Resource not accessible with Test Account Credentials")
            if request.method == "POST":
                self._check_form(request)
                _ = request.form  # read before the state lock is taken: a slow client must not hold it
            # Under the state lock, records are rendered as one lifecycle step left them.
            with self.backend.lock:
                response = getattr(self, f"_{endpoint}")(request, account_sid, **values)
            self.backend.flush_hooks()  # callbacks an update caused (a canceled call), outside the lock
            return response
        except TwilioError as error:
            return wire.error_response(error)
        except HTTPException as exc:  # e.g. 413 from Werkzeug's body limit
            status = exc.code or 400
            return wire.error_response(TwilioError(status, code_for_status(status), exc.description or exc.name))
        except Exception as exc:  # a defect: logged with its traceback, and kept for the test that caused it
            if self.on_defect is not None:
                self.on_defect(f"{request.method} {request.path}", exc)
            else:
                log.exception("emulator failed on %s %s", request.method, request.path)
            return wire.error_response(TwilioError(500, 20500, "An internal server error has occurred"))

    def _authenticate(self, request: Request) -> str:
        auth = request.authorization
        if auth is None or auth.type != "basic" or not auth.username:
            raise authentication_failed()
        token = self.accounts.get(auth.username)
        if token is None or not hmac.compare_digest(token.encode(), (auth.password or "").encode()):
            raise authentication_failed()
        return auth.username

    @staticmethod
    def _check_form(request: Request) -> None:
        if request.content_length and request.mimetype not in _FORM_TYPES:
            raise invalid_parameter(
                f"The request body must be application/x-www-form-urlencoded, not {request.mimetype or 'untyped'}"
            )

    # --- messages ---------------------------------------------------------------------------

    def _messages(self, request: Request, account_sid: str) -> Response:
        if request.method == "GET":
            query = wire.parse_list_query(request.args, wire.MESSAGES)
            result = self.backend.list_messages(account_sid, query)
            return wire.json_response(wire.page_json(request.path, request.args, wire.MESSAGES, query, result))
        form = request.form
        who = self.credentials.get(account_sid, LIVE)
        message = self.backend.create_message(account_sid, MessageRequest(
            to=form.get("To"),
            from_=form.get("From"),
            body=form.get("Body"),
            media_urls=tuple(url for url in form.getlist("MediaUrl") if url),
            messaging_service_sid=form.get("MessagingServiceSid") or None,
            status_callback=form.get("StatusCallback") or None,
            smart_encoded=_bool(form, "SmartEncoded"),
        ), who)
        return wire.json_response(wire.message_json(message), 201)

    def _message(self, request: Request, account_sid: str, sid: str) -> Response:
        if request.method == "POST":
            form = request.form
            message = self.backend.update_message(account_sid, sid, form.get("Body"), form.get("Status"))
            if message is None:
                raise not_found(request.path)
            return wire.json_response(wire.message_json(message))
        if request.method == "DELETE":
            if not self.backend.delete_message(account_sid, sid):
                raise not_found(request.path)
            return Response(status=204)
        message = self.backend.get_message(account_sid, sid)
        if message is None:
            raise not_found(request.path)
        return wire.json_response(wire.message_json(message))

    def _media_list(self, request: Request, account_sid: str, message_sid: str) -> Response:
        query = wire.parse_list_query(request.args, wire.MEDIA)
        result = self.backend.list_media(account_sid, message_sid, query)
        if result is None:
            raise not_found(request.path)
        return wire.json_response(wire.page_json(request.path, request.args, wire.MEDIA, query, result))

    def _media(self, request: Request, account_sid: str, message_sid: str, sid: str) -> Response:
        if request.method == "DELETE":
            if not self.backend.delete_media(account_sid, message_sid, sid):
                raise not_found(request.path)
            return Response(status=204)
        media = self.backend.get_media(account_sid, message_sid, sid)
        if media is None:
            raise not_found(request.path)
        return wire.json_response(wire.media_json(media))

    # --- calls ------------------------------------------------------------------------------

    def _calls(self, request: Request, account_sid: str) -> Response:
        if request.method == "GET":
            query = wire.parse_list_query(request.args, wire.CALLS)
            result = self.backend.list_calls(account_sid, query)
            return wire.json_response(wire.page_json(request.path, request.args, wire.CALLS, query, result))
        form = request.form
        events = tuple(e for value in form.getlist("StatusCallbackEvent") for e in value.split())
        timeout = form.get("Timeout")
        if timeout and not (timeout.strip().isdigit() and len(timeout.strip()) <= 9):
            raise invalid_parameter(f"Timeout must be an integer number of seconds, got {timeout!r}")
        call = self.backend.create_call(account_sid, CallRequest(
            to=form.get("To"),
            from_=form.get("From"),
            url=form.get("Url") or None,
            method=(form.get("Method") or "POST").upper(),
            fallback_url=form.get("FallbackUrl") or None,
            fallback_method=(form.get("FallbackMethod") or "POST").upper(),
            twiml=form.get("Twiml") or None,
            application_sid=form.get("ApplicationSid") or None,
            status_callback=form.get("StatusCallback") or None,
            status_callback_method=(form.get("StatusCallbackMethod") or "POST").upper(),
            status_callback_events=events,
            machine_detection=form.get("MachineDetection") or _legacy_detection(form.get("IfMachine")),
            timeout=min(int(timeout), 600) if timeout else 60,
        ), self.credentials.get(account_sid, LIVE))
        return wire.json_response(wire.call_json(call), 201)

    def _call(self, request: Request, account_sid: str, sid: str) -> Response:
        if request.method == "POST":
            return self._update_call(request, account_sid, sid)
        if request.method == "DELETE":
            if not self.backend.delete_call(account_sid, sid):
                raise not_found(request.path)
            return Response(status=204)
        call = self.backend.get_call(account_sid, sid)
        if call is None:
            raise not_found(request.path)
        return wire.json_response(wire.call_json(call))

    def _update_call(self, request: Request, account_sid: str, sid: str) -> Response:
        """Status=completed|canceled ends the call; Url or Twiml redirects a live one."""
        call = self.backend.get_call(account_sid, sid)
        if call is None:
            raise not_found(request.path)
        form = request.form
        status, url, twiml = form.get("Status"), form.get("Url") or None, form.get("Twiml") or None
        if status is not None and status not in ("completed", "canceled"):
            raise invalid_parameter(f"Status must be completed or canceled, got {status!r}")
        if url or twiml:
            self.backend.check_redirect(call, url, twiml, (form.get("Method") or "POST").upper())
        if form.get("StatusCallback"):
            check_callback(form["StatusCallback"])
            call.status_callback = form["StatusCallback"]
        if status is not None:
            self.backend.end_call(call, status)
        elif url or twiml:
            self.backend.redirect_call(call, url, twiml, (form.get("Method") or "POST").upper())
        return wire.json_response(wire.call_json(call))

    # --- numbers and the account ------------------------------------------------------------

    def _numbers(self, request: Request, account_sid: str) -> Response:
        query = wire.parse_list_query(request.args, wire.NUMBERS)
        result = self.backend.list_numbers(account_sid, query)
        return wire.json_response(wire.page_json(request.path, request.args, wire.NUMBERS, query, result,
                                                 resolve=self.resolve))

    def _number(self, request: Request, account_sid: str, sid: str) -> Response:
        record = self.backend.get_number(account_sid, sid)
        if record is None:
            raise not_found(request.path)
        if request.method == "POST":
            self.backend.update_number(record, request.form)
        return wire.json_response(wire.number_json(record, self.resolve))

    def _account(self, request: Request, account_sid: str) -> Response:
        return wire.json_response(wire.account_json(account_sid, self.backend.clock.now()))

    # --- tokens -----------------------------------------------------------------------------

    def _tokens(self, request: Request, account_sid: str) -> Response:
        token = self.backend.create_token(account_sid, check_ttl(request.form.get("Ttl")))
        return wire.json_response(wire.token_json(token), 201)


def _bool(form: Any, name: str) -> bool:
    value = (form.get(name) or "").strip().lower()
    if value not in ("", "true", "false"):
        raise invalid_parameter(f"{name} must be true or false, got {form.get(name)!r}")
    return value == "true"


_REDACTED = {"AuthToken", "Password", "password", "auth_token"}


def _logged(request: Request, response: Response, when: str) -> dict[str, Any]:
    """One API request as the control plane lists it: never a credential."""
    auth = request.authorization
    form: dict[str, Any] = {}
    if request.method != "GET" and request.mimetype in _FORM_TYPES:
        try:
            form = {k: ("[redacted]" if k in _REDACTED else v) for k, v in request.form.items(multi=True)}
        except HTTPException:  # a body already refused (413): the request is listed without it
            pass
    return {
        "time": when, "method": request.method, "path": request.path, "query": request.query_string.decode("latin-1"),
        "form": form, "status": response.status_code, "account_sid": auth.username if auth else None,
    }


def _legacy_detection(if_machine: str | None) -> str | None:
    """IfMachine (Continue | Hangup), the argument Murano's Twilio.createCall documents, is Twilio's
    older spelling of answering-machine detection: it turns detection on (MachineDetection=Enable),
    so the TwiML request and status callbacks carry AnsweredBy (docs/twilio.md)."""
    return "Enable" if if_machine in ("Continue", "Hangup") else None
