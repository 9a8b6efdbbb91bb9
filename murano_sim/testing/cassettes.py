"""Record and replay live HTTP exchanges with vcrpy, secrets scrubbed before anything is written."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..config import redact, yamlfile
from ..errors import UsageError


def _vcr_module() -> Any:
    # Imported here so that users without vcrpy keep every other part of the plugin.
    try:
        import vcr
    except ImportError:
        raise UsageError("cassettes need vcrpy: pip install vcrpy (or murano-sim[test])") from None
    return vcr


class _BoundedYaml:
    """vcrpy's YAML serializer, with cassettes read by the one bounded YAML loader (size, aliases)."""

    def __init__(self, path: Path) -> None:
        from vcr.serializers import yamlserializer

        self.path, self._vcr = path, yamlserializer

    def deserialize(self, text: str) -> Any:
        return yamlfile.parse(text, str(self.path), loader=self._vcr._CassetteLoader)

    def serialize(self, data: Any) -> str:
        return str(self._vcr.serialize(data))


def _scrub(data: Any, secrets: Sequence[str]) -> Any:
    if isinstance(data, bytes):
        text = data.decode("utf-8", errors="surrogateescape")
        return redact(text, secrets).encode("utf-8", errors="surrogateescape")
    if isinstance(data, str):
        return redact(data, secrets)
    return data


def _request_filter(secrets: Sequence[str]) -> Any:
    def before_record_request(request: Any) -> Any:
        request.uri = _scrub(request.uri, secrets)
        if request.body:
            request.body = _scrub(request.body, secrets)
        return request

    return before_record_request


def _response_filter(secrets: Sequence[str]) -> Any:
    def before_record_response(response: dict[str, Any]) -> dict[str, Any]:
        body = response.get("body") or {}
        if body.get("string"):
            body["string"] = _scrub(body["string"], secrets)
        headers = response.get("headers") or {}
        for name in list(headers):
            if name.lower() in ("authorization", "www-authenticate", "set-cookie"):
                del headers[name]
            else:
                headers[name] = [_scrub(v, secrets) for v in headers[name]]
        return response

    return before_record_response


@contextmanager
def cassette(path: Path, secrets: Sequence[str]) -> Iterator[str]:
    """Record HTTP into `path` if it does not exist yet, else replay it with no network allowed.

    Yields the mode used: "record" or "replay". The Authorization header is dropped and every
    secret (the Auth Token) is replaced in URIs, bodies and response headers.
    """
    vcr = _vcr_module()
    replay = path.is_file()
    recorder = vcr.VCR(
        record_mode="none" if replay else "once",
        filter_headers=["authorization", "Authorization"],
        before_record_request=_request_filter(secrets),
        before_record_response=_response_filter(secrets),
        decode_compressed_response=True,
    )
    if replay:
        yamlfile.read_text(path, what="cassette")  # refuses an oversized cassette before vcrpy reads it
    recorder.register_serializer("murano-sim-yaml", _BoundedYaml(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    with recorder.use_cassette(str(path), serializer="murano-sim-yaml"):
        yield "replay" if replay else "record"
