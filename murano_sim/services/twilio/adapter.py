"""A requests transport adapter that hands each request to a WSGI application in-process.

Mounted on a base URL of a requests.Session, it lets the same transport code that talks to
api.twilio.com talk to the emulator without a socket: the request is turned into a WSGI environ
by Werkzeug's EnvironBuilder and the application's answer into a requests.Response.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from requests import PreparedRequest, Response
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from werkzeug.test import EnvironBuilder, run_wsgi_app


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
