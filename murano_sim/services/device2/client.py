"""`murano-sim device --url URL ...`: act as a device over the device HTTP API.

The token a provision returns is the device's credential: it is kept in a JSON file
(--token-file, default ./.murano-sim-devices.json, mode 0600) keyed by URL and identity,
and never printed.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from ...errors import UsageError

DEFAULT_TOKEN_FILE = ".murano-sim-devices.json"
TIMEOUT = 30.0
EXIT_OK, EXIT_REFUSED = 0, 1


def _load(path: Path) -> dict[str, dict[str, str]]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read the token file ({exc})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: the token file must hold a JSON object")
    return data


def _store(path: Path, url: str, identity: str, token: str) -> None:
    data = _load(path)
    data.setdefault(url, {})[identity] = token
    # Created owner-only: the file holds credentials.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)


def _token(path: Path, url: str, identity: str) -> str:
    token = _load(path).get(url, {}).get(identity)
    if not token:
        raise UsageError(f"no token for {identity!r} at {url} in {path}; run: murano-sim device --url {url} "
                         f"provision {identity}")
    return token


def _pairs(items: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        alias, sep, value = item.partition("=")
        if not sep or not alias:
            raise UsageError(f"{item!r}: write takes alias=value")
        pairs.append((alias, value))
    return pairs


def _send(method: str, url: str, **kwargs: Any) -> requests.Response:
    try:
        return requests.request(method, url, timeout=TIMEOUT, **kwargs)
    except requests.RequestException as exc:
        raise UsageError(f"{url}: {type(exc).__name__}: {exc}") from None


def say(as_json: bool, result: dict[str, Any], text: str) -> None:
    """Print a result: one JSON object with --json, else the line(s) of text."""
    print(json.dumps(result) if as_json else text, flush=True)


def _refused(response: requests.Response) -> int:
    reason = response.text.strip().splitlines()[0] if response.text.strip() else response.reason
    print(f"murano-sim: device API answered {response.status_code}: {reason}", file=sys.stderr)
    return EXIT_REFUSED


def main_device(url: str, command: str, identity: str, items: list[str], token_file: str | None,
                as_json: bool = False) -> int:
    base = url.rstrip("/")
    path = Path(token_file or DEFAULT_TOKEN_FILE)
    if command == "provision":
        response = _send("POST", f"{base}/provision/activate", data={"id": identity})
        if response.status_code != 200:
            return _refused(response)
        _store(path, base, identity, response.text.strip())
        say(as_json, {"identity": identity, "provisioned": True, "token_file": str(path)},
            f"provisioned {identity}; token stored in {path}")
        return EXIT_OK
    headers = {"X-Exosite-CIK": _token(path, base, identity)}
    if command == "write":
        pairs = _pairs(items)
        response = _send("POST", f"{base}/onep:v1/stack/alias", data=pairs, headers=headers)
        if response.status_code != 204:
            return _refused(response)
        say(as_json, {"identity": identity, "wrote": dict(pairs)},
            f"wrote {', '.join(a for a, _ in pairs)} for {identity}")
        return EXIT_OK
    if not items:
        raise UsageError("read takes at least one alias")
    response = _send("GET", f"{base}/onep:v1/stack/alias?" + "&".join(quote(a) for a in items),
                     headers=headers)
    if response.status_code not in (200, 204):
        return _refused(response)
    from urllib.parse import parse_qsl

    values = parse_qsl(response.text, keep_blank_values=True) if response.status_code == 200 else []
    if as_json:  # the values as the API sent them: strings
        say(True, {"identity": identity, "values": dict(values)}, "")
    else:
        for alias, value in values:
            print(f"{alias}={value}")
    return EXIT_OK
