"""Murano's request object, built one way for `run`, `serve`, the fixtures and the cases.

`serve`'s behaviour is the rule: header names lower-cased, a form or JSON body parsed into a
table, the query string's parameters merged with the given (path) parameters, which win.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..errors import UsageError
from ..state.ids import new_id

FORM = "application/x-www-form-urlencoded"


def check_request(request: Any, where: str = "request") -> dict[str, Any]:
    """The given request as a dict, or a UsageError naming the field whose type is wrong."""
    if request is None:
        return {}
    if not isinstance(request, Mapping):
        raise UsageError(f"{where}: the request must be a JSON object, not {type(request).__name__}")
    for name, kind, word in (("method", str, "a string"), ("uri", str, "a string"), ("route", str, "a string"),
                             ("parameters", Mapping, "an object"), ("headers", Mapping, "an object")):
        value = request.get(name)
        if value is not None and not isinstance(value, kind):
            raise UsageError(f"{where}: {name!r} must be {word}, not {json.dumps(value)}")
    return dict(request)


class BuiltRequest(dict[str, Any]):
    """A request build_request made: building it again gives it back as it is (serve builds the
    request to log it, then runs it)."""


def build_request(request: Mapping[str, Any] | None, now: float | None = None) -> dict[str, Any]:
    """Murano's request object: defaults for every field, headers lower-cased, the query string
    merged into `parameters`, a JSON or form body decoded to a table. Idempotent.

    `now`: the solution clock's time for `timestamp` (default: the host's)."""
    if type(request) is BuiltRequest:
        return request
    timestamp = int(time.time() if now is None else now)
    if request is None:  # `run` without a request: the defaults alone
        return BuiltRequest(method="GET", uri="http://localhost/", route="/", parameters={}, headers={}, body=None,
                            timestamp=timestamp, request_id=new_id(), server_ip="127.0.0.1")
    given = check_request(request)
    full: dict[str, Any] = BuiltRequest({
        "method": "GET",
        "uri": "http://localhost/",
        "route": "/",
        "parameters": {},
        "headers": {},
        "body": None,
        "timestamp": timestamp,
        "request_id": None,
        "server_ip": "127.0.0.1",
    })
    full.update({k: v for k, v in given.items() if v is not None or k == "body"})
    if full["request_id"] is None:  # serve gives its own: no random bytes drawn for nothing
        full["request_id"] = new_id()
    full["method"] = full["method"].upper()
    full["headers"] = lower_headers(full["headers"])
    full["parameters"] = {**query_parameters(full["uri"]), **full["parameters"]}  # a path parameter wins
    full["body"] = decode_body(full.get("body"), str(full["headers"].get("content-type", "")))
    return full


def lower_headers(headers: Mapping[str, Any]) -> dict[str, Any]:
    """Header names lower-cased; a name given twice (in two cases) joins its values with ', '."""
    out: dict[str, Any] = {}
    for name, value in headers.items():
        key = str(name).lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def query_parameters(uri: str) -> dict[str, Any]:
    """The query string as parameters: one value as a string, a repeated key as a list."""
    if "?" not in uri:
        return {}  # most requests: no query string to parse
    found: dict[str, list[str]] = {}
    for key, value in parse_qsl(urlsplit(uri).query, keep_blank_values=True):
        found.setdefault(key, []).append(value)
    return {key: values[0] if len(values) == 1 else values for key, values in found.items()}


def decode_body(body: Any, content_type: str) -> Any:
    """A string body as the script sees it: a form as a table, JSON (object or array) decoded."""
    if not isinstance(body, str):
        return body
    mimetype = content_type.split(";")[0].strip().lower()
    if mimetype == FORM:
        return query_parameters("?" + body)
    if "json" in mimetype or not mimetype:
        try:
            decoded = json.loads(body)
        except ValueError:
            return body
        if isinstance(decoded, (dict, list)):
            return decoded
    return body
