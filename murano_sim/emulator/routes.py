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
from .models import CallRequest, MessageRequest, check_ttl

log = logging.getLogger("murano_sim.emulator")

_A = "/2010-04-01/Accounts/<account_sid>"
URL_MAP = Map(
    [
        Rule(f"{_A}/Messages.json", endpoint="messages", methods=["GET", "POST"]),
        Rule(f"{_A}/Messages/<sid>.json", endpoint="message", methods=["GET", "DELETE"]),
        Rule(f"{_A}/Messages/<message_sid>/Media.json", endpoint="media_list", methods=["GET"]),
        Rule(f"{_A}/Messages/<message_sid>/Media/<sid>.json", endpoint="media", methods=["GET", "DELETE"]),
        Rule(f"{_A}/Calls.json", endpoint="calls", methods=["GET", "POST"]),
        Rule(f"{_A}/Calls/<sid>.json", endpoint="call", methods=["GET", "DELETE"]),
        Rule(f"{_A}/Tokens.json", endpoint="tokens", methods=["POST"]),
    ],
    strict_slashes=False,
)
_FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
MAX_BODY_BYTES = 1024 * 1024


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
    ) -> None:
        self.backend = backend
        self.accounts = accounts
        self.before_request = before_request
        self.on_defect = on_defect

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        request.max_content_length = MAX_BODY_BYTES
        response = self.handle(request)
        response.headers["Twilio-Request-Id"] = "RQ" + uuid.uuid4().hex
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
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
            if values.pop("account_sid") != account_sid:
                raise not_found(request.path)  # another account's resources do not exist for you
            if request.method == "POST":
                self._check_form(request)
                _ = request.form  # read before the state lock is taken: a slow client must not hold it
            # Under the state lock, records are rendered as one lifecycle step left them.
            with self.backend.lock:
                return getattr(self, f"_{endpoint}")(request, account_sid, **values)
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
        message = self.backend.create_message(account_sid, MessageRequest(
            to=form.get("To"),
            from_=form.get("From"),
            body=form.get("Body"),
            media_urls=tuple(url for url in form.getlist("MediaUrl") if url),
            messaging_service_sid=form.get("MessagingServiceSid") or None,
            status_callback=form.get("StatusCallback") or None,
        ))
        return wire.json_response(wire.message_json(message), 201)

    def _message(self, request: Request, account_sid: str, sid: str) -> Response:
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
        if timeout and not timeout.strip().isdigit():
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
        ))
        return wire.json_response(wire.call_json(call), 201)

    def _call(self, request: Request, account_sid: str, sid: str) -> Response:
        if request.method == "DELETE":
            if not self.backend.delete_call(account_sid, sid):
                raise not_found(request.path)
            return Response(status=204)
        call = self.backend.get_call(account_sid, sid)
        if call is None:
            raise not_found(request.path)
        return wire.json_response(wire.call_json(call))

    # --- tokens -----------------------------------------------------------------------------

    def _tokens(self, request: Request, account_sid: str) -> Response:
        token = self.backend.create_token(account_sid, check_ttl(request.form.get("Ttl")))
        return wire.json_response(wire.token_json(token), 201)
