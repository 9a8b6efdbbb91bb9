"""Status callbacks from the emulator to a real loopback server, driven by twilio.advance()."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from murano_sim.testing import base_config, merge_config

SOLUTION = Path(__file__).resolve().parent.parent


@pytest.fixture
def status_callbacks() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A loopback HTTP server (port 0) that records the status callbacks it receives."""
    received: list[dict[str, str]] = []

    @Request.application
    def app(request: Request) -> Response:
        received.append(request.form.to_dict())
        return Response("", 204)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}/status", received
    server.shutdown()
    thread.join()


@pytest.fixture
def murano_config(status_callbacks):
    """This file's base config: the solution's config.yaml with STATUS_CALLBACK pointing at our server."""
    url, _ = status_callbacks
    return merge_config(base_config(SOLUTION / "config.yaml"), {"env": {"STATUS_CALLBACK": url}})


def test_status_callbacks_follow_the_lifecycle(murano, twilio, status_callbacks):
    _, received = status_callbacks
    result = murano.run_file("../endpoints/alert.lua", {"method": "POST", "body": {"device": "pump-7"}})
    sid = result.response.message["sid"]
    twilio.advance(3)
    assert [(c["MessageSid"], c["MessageStatus"]) for c in received] == [
        (sid, "sending"), (sid, "sent"), (sid, "delivered")
    ]
