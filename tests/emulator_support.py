"""Shared helpers for the emulator tests: spec validation of recorded responses, and a loopback
webhook receiver. (Not a test module; imported by tests/test_emulator_*.py.)"""

from __future__ import annotations

import copy
import json
import re
import threading
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import jsonschema
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

SPEC_PATH = Path(__file__).parent / "data" / "twilio_api_v2010_subset.json"
ERROR_KEYS = {"code", "message", "more_info", "status"}


def _openapi_to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 -> JSON Schema: `nullable: true` becomes a type list; objects with declared
    properties reject undeclared ones (so a field Twilio does not have is caught too)."""
    if isinstance(node, list):
        return [_openapi_to_jsonschema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _openapi_to_jsonschema(v) for k, v in node.items() if not k.startswith("x-")}
    if out.pop("nullable", False):
        if "$ref" in out:
            out = {"anyOf": [{"$ref": out.pop("$ref")}, {"type": "null"}]}
        elif "type" in out:
            out["type"] = [out["type"], "null"]
    if out.get("type") in ("object", ["object", "null"]) and "properties" in out:
        out.setdefault("additionalProperties", False)
    return out


def _rfc2822(value: object) -> bool:
    if not isinstance(value, str):
        return True  # formats only constrain strings; null is checked by the type
    if not re.fullmatch(r"\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000", value):
        return False
    parsedate_to_datetime(value)
    return True


class SpecValidator:
    """Validates a response body against the spec's schema for (method, path template, status)."""

    def __init__(self) -> None:
        self.doc = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
        self.components = _openapi_to_jsonschema(self.doc["components"])
        self.checker = jsonschema.FormatChecker(formats=())
        self.checker.checks("date-time-rfc-2822")(_rfc2822)
        self._routes = []
        for template, ops in self.doc["paths"].items():
            pattern = re.sub(r"\\\{[A-Za-z]+\\\}", "[^/]+", re.escape(template))
            self._routes.append((re.compile(f"^{pattern}$"), ops))

    def schema_for(self, method: str, path: str, status: int) -> dict[str, Any] | None:
        for pattern, ops in self._routes:
            if pattern.match(path):
                response = ops[method.lower()]["responses"][str(status)]
                content = response.get("content")
                if content is None:
                    return None
                schema = _openapi_to_jsonschema(copy.deepcopy(content["application/json"]["schema"]))
                return {**schema, "components": self.components}
        raise AssertionError(f"no spec path for {path}")

    def check(self, method: str, path: str, status: int, body: bytes) -> None:
        where = f"{method} {path} -> {status}"
        if 300 <= status < 400:
            return  # a redirect (the media content URL) has no body to check
        if status >= 400:
            payload = json.loads(body)
            assert set(payload) == ERROR_KEYS, f"{where}: error body keys {sorted(payload)}"
            assert payload["status"] == status and isinstance(payload["code"], int), where
            assert payload["more_info"] == f"https://www.twilio.com/docs/errors/{payload['code']}", where
            return
        schema = self.schema_for(method, path, status)
        if schema is None:
            assert body == b"", f"{where}: expected an empty body"
            return
        jsonschema.Draft202012Validator(schema, format_checker=self.checker).validate(json.loads(body))


class Recorder:
    """WSGI middleware keeping (method, path, status, body) of every response."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.exchanges: list[tuple[str, str, int, bytes]] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: Any, exc_info: Any = None) -> Any:
            captured["status"] = int(status.split()[0])
            return start_response(status, headers, exc_info)

        body = b"".join(self.app(environ, capture))
        with self._lock:
            self.exchanges.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], captured["status"], body))
        return [body]

    def validate_all(self, validator: SpecValidator) -> int:
        for method, path, status, body in list(self.exchanges):
            validator.check(method, path, status, body)
        return len(self.exchanges)


class QuietHandler(WSGIRequestHandler):
    """A test server's request handler that logs nothing."""

    def log(self, *args: Any) -> None:
        pass


class WebhookReceiver:
    """A loopback HTTP server recording every request; answers per-path status codes (default 200)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: dict[str, int] = {}
        self.bodies: dict[str, str] = {}  # per-path answers (TwiML documents); else self.twiml
        self.twiml = "<?xml version='1.0' encoding='UTF-8'?><Response><Say>hi</Say></Response>"
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True, request_handler=QuietHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.requests.append({
            "method": request.method, "path": request.path, "url": request.url,
            "form": request.form.to_dict(), "args": request.args.to_dict(),
            "signature": request.headers.get("X-Twilio-Signature"),
        })
        status = self.statuses.get(request.path, 200)
        body = self.bodies.get(request.path, self.twiml)
        return Response(body, status=status, content_type="application/xml")(environ, start_response)

    def paths(self) -> list[str]:
        return [r["path"] for r in self.requests]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
