"""The two executors behind the one Dispatcher: what actually performs a checked call.

- `LocalExecutor`: an in-process model (Keystore, Tsdb, ..., a stand-in, an out-of-tree service),
  one method per operation (or `perform(operation, args)`), ServiceError for Murano's error table;
- `HttpExecutor`: a REST API over the transport (a live API, or the service's local backend mounted in-process
  with `WSGIAdapter`, which receives byte for byte what the live API would).

Both return a transport `Reply`; the Dispatcher turns it into the one `CallOutcome`.
"""

from __future__ import annotations

import io
import re
import string
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from requests import PreparedRequest, Response
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

from ..errors import ConfigError
from .host import ServiceError, ServiceHost, no_content
from .spec import OperationSpec, ServiceSpec
from .transport import Reply, Transport
from .validation import Request


class LocalExecutor:
    """Runs an operation on an in-process model; the model sees the call's deadline on its host."""

    prefix_argument_errors = True  # "Keystore.set: key: is required" (an http API's own errors carry no label)

    def __init__(self, model: Any, host: ServiceHost, *, make: Callable[[ServiceHost], Any] | None = None) -> None:
        """make(host): builds the model on first use instead (a script that never calls the service
        never imports its model: no fakeredis for a run that uses no Keystore)."""
        self._model = model
        self._make = make
        self.host = host
        self._secret_keys = host.spec.secret_keys()  # the spec does not change; the parameters may

    @property
    def model(self) -> Any:
        if self._model is None and self._make is not None:
            self._model, self._make = self._make(self.host), None
        return self._model

    @model.setter
    def model(self, model: Any) -> None:
        self._model, self._make = model, None

    @property
    def built(self) -> bool:
        return self._make is None

    def secrets(self) -> list[str]:
        """The values of its secret parameters now (a solution's services/<alias>.yaml may set them
        after start, Config.setParameters may change them), longest first."""
        if not self._secret_keys:
            return []  # most services have no secret parameter: asked after every run, answered at once
        found = {v for k in self._secret_keys for v in _secret_strings(self.host.parameters.get(k))}
        return sorted(found, key=len, reverse=True)

    def execute(
        self, operation: str, op: OperationSpec, request: Request, deadline: float | None, warnings: list[str]
    ) -> Reply:
        outer, self.host.deadline = self.host.deadline, deadline
        try:
            perform = getattr(self.model, "perform", None)  # a model whose operations are data (stand-ins)
            if perform is not None:
                result = perform(operation, request.args)
            else:
                result = getattr(self.model, operation)(request.args)
        except ServiceError as exc:
            return Reply(exc.status, exc.table(), error=exc.message, error_type=exc.type)  # a model's own table
        finally:
            self.host.deadline = outer
        if op.returns == "status" and result is None:
            return Reply(204, no_content(self.host.era))
        return Reply(200, result)

    def reset(self) -> None:
        if not self.built and self.host.state.path is None:
            return  # never used, on a state in memory: it holds nothing yet, and is built with its seed on first use
        reset = getattr(self.model, "reset", None)  # a --state file may hold its rows: built to reset them
        if reset is not None:
            reset()

    def close(self) -> None:
        if not self.built:
            return  # never used: nothing to close
        close = getattr(self.model, "close", None)
        if close is not None:
            close()


class HttpExecutor:
    """Sends an operation over the transport to a REST API (its base_url, or a mounted local backend)."""

    prefix_argument_errors = False
    model = None

    def __init__(
        self,
        spec: ServiceSpec,
        config_section: Mapping[str, Any],
        *,
        base_url: str | None = None,
        session: requests.Session | None = None,
    ) -> None:
        params = _config_parameters(spec, config_section)
        self._secrets = sorted({params[k] for k in spec.secret_keys() if params.get(k)}, key=len, reverse=True)
        auth = (params[spec.auth["username"]], params[spec.auth["password"]]) if spec.auth["type"] == "basic" else None
        url = base_url or config_section.get("base_url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(f"services.{spec.alias}.base_url: must be an http:// or https:// URL")
        self.transport = Transport(
            url,
            auth=auth,
            timeout=float(config_section.get("timeout_seconds", 10)),
            retries=int(config_section.get("retries", 3)),
            backoff=float(config_section.get("backoff_seconds", 0.2)),
            session=session,
        )
        self.label = spec.global_names[0]
        # Config placeholders ({AccountSid}) are filled once; argument placeholders per call.
        self._paths = {name: _path_template(op, params) for name, op in spec.operations.items()}

    def secrets(self) -> list[str]:
        return self._secrets

    def execute(
        self, operation: str, op: OperationSpec, request: Request, deadline: float | None, warnings: list[str]
    ) -> Reply:
        label = f"{self.label}.{operation}"
        reply = self.transport.send(
            op.method, _fill(self._paths[operation], request.path), query=request.query, form=request.form,
            json_body=request.json or None, deadline=deadline,
            on_retry=lambda line: warnings.append(f"{label}: {line}"),
        )
        if reply.ok and op.returns == "nil":
            reply.value = None
        return reply

    def reset(self) -> None:
        pass

    def close(self) -> None:
        self.transport.close()


def _config_parameters(spec: ServiceSpec, section: Mapping[str, Any]) -> dict[str, str]:
    """Murano's configuration parameters from config.yaml, checked without ever showing a secret."""
    params: dict[str, str] = {}
    for key, rules in spec.config_keys.items():
        value = section.get(key)
        where = f"services.{spec.alias}.{key}"
        if value is None or value == "":
            raise ConfigError(f"{where} is missing")
        value = str(value)
        pattern = rules.get("pattern")
        if pattern and not re.search(pattern, value):
            raise ConfigError(f"{where} is malformed: expected {pattern}")
        params[key] = value
    return params


def _path_template(op: OperationSpec, params: Mapping[str, str]) -> list[tuple[str, str | None]]:
    """The path as (literal, argument-name-or-None) pieces with config values already in place."""
    pieces: list[tuple[str, str | None]] = []
    for literal, name, _, _ in string.Formatter().parse(op.path):
        if name is None:
            pieces.append((literal, None))
        elif name in params:
            pieces.append((literal + quote(params[name], safe=""), None))
        else:
            pieces.append((literal, name))
    return pieces


def _fill(pieces: list[tuple[str, str | None]], values: Mapping[str, str]) -> str:
    return "".join(literal + (quote(values[name], safe="") if name else "") for literal, name in pieces)


def _secret_strings(value: Any) -> list[str]:
    """A secret parameter's strings: the value itself, or every string inside a table of them."""
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _secret_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _secret_strings(v)]
    return [str(value)] if value not in (None, "") and not isinstance(value, bool) else []


# -- a WSGI app behind the transport ---------------------------------------------------------------


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else data
    return b"".join(chunk.encode("utf-8") if isinstance(chunk, str) else chunk for chunk in body)


class WSGIAdapter(BaseAdapter):
    """requests adapter calling `app` (a WSGI application) in-process."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        super().__init__()
        self.app = app

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> Response:
        from werkzeug.test import EnvironBuilder, run_wsgi_app  # here: a run that mounts nothing never loads it

        parts = urlsplit(request.url or "")
        builder = EnvironBuilder(
            path=parts.path or "/",
            base_url=f"{parts.scheme}://{parts.netloc}",
            query_string=parts.query,
            method=request.method or "GET",
            # The whole body is handed over with a Content-Length, so a chunked upload is already de-chunked.
            headers=[(k, v) for k, v in request.headers.items() if k.lower() != "transfer-encoding"],
            data=_body_bytes(request.body) or None,
            environ_base={"REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1"},
        )
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        app_iter, status, headers = run_wsgi_app(self.app, environ, buffered=True)
        try:
            content = b"".join(app_iter)
        finally:
            close = getattr(app_iter, "close", None)
            if close is not None:
                close()
        response = Response()
        code, _, reason = status.partition(" ")
        response.status_code = int(code)
        response.reason = reason
        merged: dict[str, str] = {}
        for name, value in headers.items():  # repeated headers fold into one, as urllib3 does
            merged[name] = f"{merged[name]}, {value}" if name in merged else value
        response.headers = CaseInsensitiveDict(merged)
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = io.BytesIO(content)  # requests reads the body from raw, streamed or not
        response.url = request.url or ""
        response.request = request
        response.connection = self  # type: ignore[assignment]  # what requests reads: an adapter with send()
        return response

    def close(self) -> None:
        pass
