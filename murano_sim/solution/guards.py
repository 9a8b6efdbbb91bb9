"""What `serve` enforces on what it accepts (request bodies) and what it sends (responses, files).

Every check here ends in a one-line reason: a request that breaks a rule gets a 4xx with it; a
script whose response breaks one gets a 500 and the reason goes to the log, naming the script.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from ..lua.convert import MAX_DEPTH
from ..net.limits import RequestRefused, read_data
from ..runtime.result import ScriptResult

# Integers Lua can take without loss of range (LuaJIT's lua_Integer is 64-bit).
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
# Nesting beyond the Lua<->Python conversion's own bound could not reach the script anyway.
MAX_JSON_DEPTH = MAX_DEPTH

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 field-name
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # CR, LF, NUL and other controls (HTAB is fine)
_NOT_FORWARDED = {"content-length", "transfer-encoding", "connection"}
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # built once: every table response uses it


class BadResponse(Exception):
    """A script built a response serve will not send (bad status code or header)."""


# --- what serve accepts ---------------------------------------------------------------------


class _OutOfRange(ValueError):
    pass


def _parse_int(text: str) -> int:
    if len(text) > 20 or not INT_MIN <= (value := int(text)) <= INT_MAX:
        raise _OutOfRange(f"integer {text[:24]}{'...' if len(text) > 24 else ''} is out of range (64-bit)")
    return value


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _OutOfRange(f"number {text[:24]}{'...' if len(text) > 24 else ''} is out of range")
    return value


def _parse_constant(name: str) -> Any:
    raise _OutOfRange(f"{name} is not a JSON number")


def _depth(value: Any) -> int:
    """The nesting depth of a decoded JSON value (iterative: never recurses)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            node = node.values()
        elif not isinstance(node, list):
            continue
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            return depth
        stack.extend((child, depth + 1) for child in node if isinstance(child, (dict, list)))
    return deepest


_NOT_JSON = object()


def decode_json(text: str) -> Any:
    """JSON text -> value; _NOT_JSON if it is not JSON; RequestRefused for out-of-range numbers
    and nesting beyond MAX_JSON_DEPTH (checked here, before any conversion into Lua)."""
    try:
        value = json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)
    except _OutOfRange as exc:
        raise RequestRefused(400, f"JSON body: {exc}") from None
    except RecursionError:  # the decoder's own guard against deep nesting
        raise RequestRefused(400, f"JSON body nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError:
        return _NOT_JSON
    if _depth(value) > MAX_JSON_DEPTH:
        raise RequestRefused(400, f"JSON body nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def multi(values: Any) -> dict[str, Any]:
    """A MultiDict as a plain dict: one value as a string, a repeated key as a list of strings."""
    return {key: (items[0] if len(items) == 1 else items) for key, items in values.lists()}


def script_body(request: Request, limit: int) -> Any:
    """The body a script sees: a form as a table, JSON (an object or array) decoded, any other
    text as is, no body as None. JSON is decoded here so that its limits hold before Lua."""
    if request.mimetype == "application/x-www-form-urlencoded":
        read_data(request, limit)
        try:
            form = request.form
        except HTTPException as exc:
            raise RequestRefused(exc.code or 400, f"form body refused ({exc.name})") from None
        return multi(form)
    data = read_data(request, limit)
    if not data:
        return None
    declared_json = "json" in request.mimetype  # as the runtime decides for a body it is given
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if declared_json:
            raise RequestRefused(400, f"JSON body is not valid UTF-8 (byte {exc.start})") from None
        return data.decode("utf-8", "replace")
    if declared_json or not request.mimetype:
        value = decode_json(text)
        if isinstance(value, (dict, list)):
            return value
    return text


def event_payload(request: Request, limit: int) -> dict[str, Any]:
    """The JSON object posted to the event route (an empty body is {})."""
    data = read_data(request, limit)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestRefused(400, "the event payload is not valid UTF-8") from None
    value = decode_json(text) if text.strip() else {}
    if not isinstance(value, dict):
        raise RequestRefused(400, "the event payload must be a JSON object")
    return value


# --- what serve sends -----------------------------------------------------------------------


def build_response(result: ScriptResult) -> Response:
    """Murano's response: a table message as JSON, a string as is (BadResponse if not sendable)."""
    code = result.response.code
    if isinstance(code, bool) or not isinstance(code, int) or not 200 <= code <= 599:
        raise BadResponse(f"response.code must be an integer from 200 to 599, got {code!r}")
    headers: list[tuple[str, str]] = []
    for name, value in result.response.headers.items():
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise BadResponse(f"response header name {name!r} is not a valid HTTP token")
        if not isinstance(value, str) or _BAD_VALUE.search(value):
            raise BadResponse(f"response header {name} has a value with CR, LF or another control character")
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise BadResponse(f"response header {name} has a value that is not Latin-1 text") from None
        if name.lower() not in _NOT_FORWARDED:
            headers.append((name, value))
    message = result.response.message
    if message is None:
        body = b""
    elif isinstance(message, str):
        body = message.encode("utf-8", "surrogatepass")
    else:
        body = _JSON.encode(message).encode("utf-8", "surrogatepass")
    response = Response(body, status=code)  # werkzeug drops the body of a HEAD
    for name, value in headers:
        response.headers[name] = value
    return response


def static_file(folder: Path, path: str) -> Path | None:
    """The real file under folder for a URL path, or None: no dot-files, nothing outside folder.

    Symlinks are followed, but only to targets inside the folder (a link to /etc/passwd or to ..
    is not there); a dot-file is refused whatever name reaches it.
    """
    parts = path.split("/")
    if any(part.startswith(".") or "\\" in part or "\x00" in part for part in parts):
        return None
    try:
        base = folder.resolve(strict=True)
        target = (base / path).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):  # missing, a symlink loop, an unusable name
        return None
    try:
        inside = target.relative_to(base)
    except ValueError:
        return None
    if any(part.startswith(".") for part in inside.parts) or not target.is_file():
        return None
    return target
