"""Endpoint and event-handler files: `--#ENDPOINT` / `--#EVENT` headers, annotations, file names.

Python-tool style: a malformed header is a warning ("file:line: what") and that script is
skipped; nothing here stops a solution from loading.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

from ..services.registry import event_sources
from .model import METHODS, Endpoint, EventHandler

_ENDPOINT_HEADER = re.compile(r"^\s*--\s*#\s*ENDPOINT\b(.*)$", re.IGNORECASE)
_EVENT_HEADER = re.compile(r"^\s*--\s*#\s*EVENT\b(.*)$", re.IGNORECASE)
_ANNOTATION = re.compile(r"^\s*--\s*#\s*(TAGS|SECURITY|RATELIMIT|SUMMARY|DESCRIPTION)\b[ \t:]*(.*)$", re.IGNORECASE)
_PARAM = re.compile(r"\{([^{}]*)\}")
_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\*?$")
_PATH_CHARS = re.compile(r"^/[A-Za-z0-9\-._~!$&'()*+,;=:@%/{}]*$")
_CONTENT_TYPE = re.compile(r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(;.*)?$")
SECURITY_SCHEMES = {"none": "none", "basic": "basic", "bearer": "bearer", "apikey": "apiKey"}

# Murano's service aliases (reference §3, plus the MQTT exchange service of the templates).
# A handler alias outside this list ({product.id}, a product id, a custom script key) is kept
# as a script key with a warning; in `<alias>_<event>.lua` the longest of these that prefixes
# the name wins, so websocket_websocket_info.lua is websocket / websocket_info.
KNOWN_SERVICES = event_sources()  # every spec's alias and services/known.yaml's event-only sources


def split_endpoints(rel: str, text: str, warnings: list[str]) -> list[Endpoint]:
    """Every endpoint a file declares; a file without a header gives a warning and none."""
    sections = _sections(rel, text, _ENDPOINT_HEADER, "--#ENDPOINT", warnings)
    if not sections:
        warnings.append(f"{rel}:1: no --#ENDPOINT header, skipped (an endpoint starts with `--#ENDPOINT GET /path`)")
    endpoints = []
    for line, args, body in sections:
        endpoint = _endpoint(rel, line, args, body, warnings)
        if endpoint is not None:
            endpoints.append(endpoint)
    return endpoints


def _endpoint(rel: str, line: int, args: str, body: str, warnings: list[str]) -> Endpoint | None:
    where = f"{rel}:{line}"
    parts = args.split()
    if len(parts) not in (2, 3):
        warnings.append(f"{where}: malformed header, skipped: expected `--#ENDPOINT METHOD /path [content-type]`")
        return None
    method, path = parts[0].upper(), parts[1]
    problem = None
    if method not in METHODS:
        problem = f"unknown method {parts[0]!r} (expected one of {', '.join(METHODS)})"
    elif not _PATH_CHARS.match(path):
        problem = f"malformed path {path!r}: it must start with / and be a URL path"
    elif path.count("{") != path.count("}") or "{" in _PARAM.sub("", path) or "}" in _PARAM.sub("", path):
        problem = f"malformed path {path!r}: unbalanced braces"
    else:
        names = _PARAM.findall(path)
        bad = [n for n in names if not _PARAM_NAME.match(n)]
        if bad:
            problem = f"malformed path parameter {{{bad[0]}}} (a name: letters, digits, _)"
        elif len({n.rstrip('*') for n in names}) != len(names):
            problem = f"path {path!r} repeats a parameter name"
    if problem:
        warnings.append(f"{where}: {problem}; endpoint skipped")
        return None
    content_type = parts[2] if len(parts) == 3 else None
    if content_type is not None and not _CONTENT_TYPE.match(content_type):
        warnings.append(f"{where}: malformed content type {content_type!r} ignored (expected e.g. application/json)")
        content_type = None
    return Endpoint(file=rel, line=line, source=body, method=method, path=path, content_type=content_type,
                    **_annotations(rel, line, body, warnings))


def _annotations(rel: str, line: int, body: str, warnings: list[str]) -> dict[str, Any]:
    """--#TAGS, --#SECURITY, --#RATELIMIT, --#SUMMARY, --#DESCRIPTION in the comments after a header."""
    found: dict[str, object] = {}
    descriptions = []
    for number, text in enumerate(body.split("\n")[line:], start=line + 1):
        stripped = text.strip()
        if stripped and not stripped.startswith("--"):
            break  # annotations belong to the comment block right under the header
        match = _ANNOTATION.match(text)
        if not match:
            continue
        tag, value = match.group(1).upper(), match.group(2).strip()
        if tag == "TAGS":
            found["tags"] = tuple(t for t in re.split(r"[\s,]+", value) if t)
        elif tag == "SECURITY":
            scheme = SECURITY_SCHEMES.get(value.lower())
            if scheme is None:
                warnings.append(f"{rel}:{number}: unknown --#SECURITY {value!r} ignored "
                                f"(expected one of {', '.join(SECURITY_SCHEMES.values())})")
            else:
                found["security"] = scheme
        elif tag == "RATELIMIT":
            if value.isdigit():
                found["ratelimit"] = int(value)
            else:
                warnings.append(f"{rel}:{number}: --#RATELIMIT {value!r} ignored (expected requests per minute)")
        elif tag == "SUMMARY":
            found["summary"] = value
        else:
            descriptions.append(value)
    if descriptions:
        found["description"] = "\n".join(descriptions)
    return found


def split_handlers(rel: str, text: str, warnings: list[str]) -> list[EventHandler] | None:
    """The handlers `--#EVENT` headers declare; None when the file has no header.

    `--#EVENT alias event` names both; a one-word `--#EVENT event` takes the file name as alias.
    """
    sections = _sections(rel, text, _EVENT_HEADER, "--#EVENT", warnings)
    if not sections:
        return None
    stem = PurePosixPath(rel).name.removesuffix(".lua")
    handlers = []
    for line, args, body in sections:
        parts = args.split()
        if len(parts) == 1:
            parts = [stem, parts[0]]
        if len(parts) != 2:
            warnings.append(f"{rel}:{line}: malformed header, skipped: expected `--#EVENT [<alias>] <event>`")
            continue
        handlers.append(EventHandler(file=rel, line=line, source=body, service=parts[0], event=parts[1]))
    return handlers


def handler_key_from_path(under: str) -> tuple[str, str] | str:
    """(alias, event) from a handler file's path under its location, or why it cannot be told.

    `alias/event.lua` is nested; `alias_event.lua` splits after the longest known alias that
    prefixes it, else at the first `_`.
    """
    parts = PurePosixPath(under).with_suffix("").parts
    if len(parts) == 2:
        return parts[0], parts[1]
    if len(parts) > 2:
        return "nested too deep to tell the event (expected <alias>/<event>.lua)"
    name = parts[0]
    known = [alias for alias in KNOWN_SERVICES if name.startswith(alias + "_") and len(name) > len(alias) + 1]
    if known:
        alias = max(known, key=len)
        return alias, name[len(alias) + 1:]
    alias, _, event = name.partition("_")
    if alias and event:
        return alias, event
    return ("cannot tell the event: name it <alias>_<event>.lua or <alias>/<event>.lua, "
            "or add `--#EVENT <alias> <event>`")


def _sections(
    rel: str, text: str, header: re.Pattern[str], what: str, warnings: list[str]
) -> list[tuple[int, str, str]]:
    """Split a file at each header line: [(header line number, header arguments, padded body)].

    The body keeps its lines at their original numbers (everything above it is blank lines).
    Code above the first header belongs to no script: it is dropped with a warning.
    """
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if header.match(line)]
    if not starts:
        return []
    for i in range(starts[0]):
        stripped = lines[i].strip()
        if stripped and not stripped.startswith("--"):
            warnings.append(f"{rel}:{i + 1}: code before the first {what} header belongs to no script (ignored)")
            break
    out = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        body = "\n" * (start + 1) + "\n".join(lines[start + 1:end])
        out.append((start + 1, header.match(lines[start]).group(1).strip(), body))  # type: ignore[union-attr]
    return out
