"""Limits every local HTTP surface applies to what it reads: the body size, and the refusal they share."""

from __future__ import annotations

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request

DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024


class RequestRefused(Exception):
    """A request serve will not pass to a script: its status and one-line reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def check_length(request: Request, limit: int) -> None:
    """Refuse a declared Content-Length above the limit before anything is read; cap the rest.

    A body without a length (chunked) is read up to one byte past the limit (Werkzeug stops
    there silently), and read_data() refuses it if it got that far.
    """
    request.max_content_length = request.max_form_memory_size = limit + 1
    length = request.content_length
    if length is not None and length > limit:
        raise RequestRefused(413, f"request body of {length} bytes exceeds serve.max_body_bytes ({limit})")


def read_data(request: Request, limit: int) -> bytes:
    """The whole body, at most `limit` bytes (413 above it, 400 if the client stops short)."""
    try:
        data = request.get_data(cache=True)
    except HTTPException as exc:
        if exc.code != 413:
            raise RequestRefused(exc.code or 400, f"request body could not be read ({exc.name})") from None
        data = None
    if data is None or len(data) > limit:
        raise RequestRefused(413, f"request body exceeds serve.max_body_bytes ({limit})")
    return data
