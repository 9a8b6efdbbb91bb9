"""What Murano's API gateway does before and after an endpoint script: security and CORS.

Security: an endpoint's `--#SECURITY` (else the Webservice configuration's `security`) names a
scheme: `none`, `basic`, `bearer`, `apiKey`, or a scheme of `security_schemes`. A request
without the credential in its place is answered 401 without running the script. Checking the
credential's value is opt-in, with config.yaml's `serve.security` lists.

CORS: the solution's CORS settings (`origin`, `methods`, `headers`, `credentials`,
`expose_headers`) are applied to responses and answer OPTIONS preflights.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

DEFAULT_API_KEY_HEADER = "X-API-Key"
DEFAULT_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


@dataclass(frozen=True)
class Scheme:
    type: str  # basic | bearer | apiKey
    where: str = "header"  # apiKey: header | query | cookie
    name: str = DEFAULT_API_KEY_HEADER  # apiKey: the header, query parameter or cookie name


def endpoint_scheme(security: str | None, webservice: Mapping[str, Any]) -> Scheme | None:
    """The scheme an endpoint requires (None: no credential needed)."""
    name = security if security else _default_security(webservice.get("security"))
    if not name or name.lower() == "none":
        return None
    declared = webservice.get("security_schemes")
    declared = declared if isinstance(declared, Mapping) else {}
    scheme = declared.get(name)
    if isinstance(scheme, Mapping):
        return _scheme(scheme)
    lowered = name.lower()
    if lowered in ("basic", "bearer"):
        return Scheme(lowered)
    if lowered == "apikey":  # the first apiKey scheme declared, else the X-API-Key header
        for spec in declared.values():
            if isinstance(spec, Mapping) and str(spec.get("type", "")).lower() == "apikey":
                return _scheme(spec)
        return Scheme("apiKey")
    return Scheme("unknown", name=name)


def _default_security(value: Any) -> str | None:
    """Webservice `security`: a scheme name, a list of names, or OpenAPI's [{name: []}]."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value:
        first = value[0]
        if isinstance(first, str):
            return first
        if isinstance(first, Mapping) and first:
            return str(next(iter(first)))
    return None


def _scheme(spec: Mapping[str, Any]) -> Scheme:
    kind = str(spec.get("type", "")).lower()
    if kind == "http":  # OpenAPI's spelling: type http, scheme basic|bearer
        kind = str(spec.get("scheme", "")).lower()
    if kind == "apikey":
        return Scheme("apiKey", str(spec.get("in", "header")).lower(), str(spec.get("name", DEFAULT_API_KEY_HEADER)))
    return Scheme(kind if kind in ("basic", "bearer") else "unknown", name=kind)


def check_credential(request: Request, scheme: Scheme, accepted: Mapping[str, Any]) -> str | None:
    """None when the request carries the credential (and, if configured, a right one); else why not."""
    if scheme.type == "unknown":
        return f"unknown security scheme {scheme.name!r}"
    if scheme.type in ("basic", "bearer"):
        kind, _, value = request.headers.get("Authorization", "").strip().partition(" ")
        if kind.lower() != scheme.type or not value.strip():
            return f"missing {scheme.type.capitalize()} credentials in the Authorization header"
        allowed = accepted.get(scheme.type)
        if not allowed:
            return None
        if scheme.type == "bearer":
            return None if value.strip() in [str(t) for t in allowed] else "invalid bearer token"
        try:
            user, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, ValueError):
            return "malformed Basic credentials"
        pairs = {(str(a.get("user")), str(a.get("password"))) for a in allowed if isinstance(a, Mapping)}
        return None if (user, password) in pairs else "invalid user or password"
    if scheme.where == "query":
        key = request.args.get(scheme.name)
    elif scheme.where == "cookie":
        key = request.cookies.get(scheme.name)
    else:
        key = request.headers.get(scheme.name)
    if not key:
        return f"missing API key ({scheme.where} {scheme.name})"
    allowed = accepted.get("apiKey")
    return None if not allowed or key in [str(k) for k in allowed] else "invalid API key"


def credential(request: Request, scheme: Scheme) -> str | None:
    """The credential the request carries for the scheme (a rate-limit bucket's key), or None."""
    if scheme.type in ("basic", "bearer"):
        return request.headers.get("Authorization", "").strip() or None
    if scheme.where == "query":
        return request.args.get(scheme.name) or None
    if scheme.where == "cookie":
        return request.cookies.get(scheme.name) or None
    return request.headers.get(scheme.name) or None


def unauthorized(scheme: Scheme, reason: str) -> Response:
    response = Response(json.dumps({"error": reason}), status=401, content_type="application/json")
    if scheme.type in ("basic", "bearer"):
        response.headers["WWW-Authenticate"] = f'{scheme.type.capitalize()} realm="murano-sim"'
    return response


# -- CORS ---------------------------------------------------------------------------------------
def cors_settings(cors: Any, webservice: Mapping[str, Any]) -> dict[str, Any] | None:
    """The solution's CORS settings (Solution.cors, else the Webservice configuration's `cors`)."""
    found = cors if cors else webservice.get("cors")
    if isinstance(found, str):  # Murano's configuration holds it as JSON text
        try:
            found = json.loads(found)
        except ValueError:
            return None
    return dict(found) if isinstance(found, Mapping) and found else None


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _allowed_origin(cors: Mapping[str, Any], origin: str) -> str | None:
    given = cors.get("origin", cors.get("origins"))
    if given is True:  # MuranoCLI's default cors.yaml: `origin: true` reflects any origin
        return origin
    origins = _listed(given)
    if origin in origins:
        return origin
    if "*" in origins or origins == []:
        return origin if cors.get("credentials") else "*"
    # Exosite's own examples list patterns such as "http://localhost:*"
    if any("*" in pattern and fnmatch.fnmatchcase(origin, pattern) for pattern in origins):
        return origin
    return None


def apply_cors(cors: Mapping[str, Any] | None, request: Request, response: Response) -> Response:
    origin = request.headers.get("Origin")
    if not cors or not origin:
        return response
    allowed = _allowed_origin(cors, origin)
    if allowed is None:
        return response
    response.headers["Access-Control-Allow-Origin"] = allowed
    if allowed != "*":
        response.vary.add("Origin")
    if cors.get("credentials"):
        response.headers["Access-Control-Allow-Credentials"] = "true"
    exposed = _listed(cors.get("expose_headers"))
    if exposed:
        response.headers["Access-Control-Expose-Headers"] = ", ".join(exposed)
    return response


def is_preflight(request: Request) -> bool:
    return request.method == "OPTIONS" and "Origin" in request.headers and (
        "Access-Control-Request-Method" in request.headers
    )


def preflight(cors: Mapping[str, Any] | None, request: Request) -> Response:
    """The answer to a CORS preflight: 204 with the allowed methods and headers, or 403."""
    origin = request.headers.get("Origin", "")
    if not cors or _allowed_origin(cors, origin) is None:
        return Response(f"origin {origin} is not allowed by the solution's CORS settings", status=403,
                        content_type="text/plain; charset=utf-8")
    response = Response(status=204)
    methods = _listed(cors.get("methods")) or list(DEFAULT_METHODS)
    response.headers["Access-Control-Allow-Methods"] = ", ".join(m.upper() for m in methods)
    headers = _listed(cors.get("headers")) or _listed(request.headers.get("Access-Control-Request-Headers"))
    if headers:
        response.headers["Access-Control-Allow-Headers"] = ", ".join(headers)
    response.headers["Access-Control-Max-Age"] = "600"
    return apply_cors(cors, request, response)
