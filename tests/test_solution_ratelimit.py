"""Rate limits under serve (issue 22): `--#RATELIMIT n` per endpoint and the Webservice `rate_limit`,
per token or per client address, on the solution clock; off in fixtures unless a test turns them on."""

from __future__ import annotations

import pytest
from websocket_client import Client

from murano_sim.cli import build_parser

ENDPOINTS = """--#ENDPOINT GET /limited
--#RATELIMIT 2
return "ok"

--#ENDPOINT GET /keyed
--#SECURITY apiKey
--#RATELIMIT 1
return "ok"

--#ENDPOINT GET /free
return "free"
"""


@pytest.fixture
def solution(tmp_path):
    (tmp_path / "endpoints").mkdir()
    (tmp_path / "endpoints" / "api.lua").write_text(ENDPOINTS)
    return tmp_path


@pytest.mark.murano(config={"serve": {"rate_limits": True}})
def test_an_endpoint_limit_refuses_past_n_per_minute_until_the_window_moves(murano_solution, solution):
    served = murano_solution(solution)
    assert [served.get("/limited").status_code for _ in range(2)] == [200, 200]
    refused = served.get("/limited")
    assert refused.status_code == 429 and refused.json() == {
        "error": "rate limit exceeded: 2 requests per minute", "status": 429}
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert served.get("/free").status_code == 200  # another endpoint, no limit of its own
    served.advance(61)  # the solution clock, not the wall clock
    assert served.get("/limited").status_code == 200


@pytest.mark.murano(config={"serve": {"rate_limits": True}})
def test_the_bucket_is_per_token_where_the_endpoint_takes_one(murano_solution, solution):
    served = murano_solution(solution)
    assert served.get("/keyed", headers={"X-API-Key": "a"}).status_code == 200
    assert served.get("/keyed", headers={"X-API-Key": "a"}).status_code == 429
    assert served.get("/keyed", headers={"X-API-Key": "b"}).status_code == 200  # another token, its own bucket


@pytest.mark.murano(config={"serve": {"rate_limits": True}})
def test_the_solution_wide_rate_limit_covers_endpoints_without_their_own(murano_solution, solution):
    (solution / "services").mkdir()
    (solution / "services" / "webservice.yaml").write_text("rate_limit: 1\n")
    served = murano_solution(solution)
    assert served.get("/free").status_code == 200
    assert served.get("/free").status_code == 429
    assert [served.get("/limited").status_code for _ in range(3)] == [200, 200, 429]  # its own limit wins


def test_rate_limits_are_off_in_fixtures_unless_turned_on(murano_solution, solution):
    served = murano_solution(solution)
    assert {served.get("/limited").status_code for _ in range(5)} == {200}


@pytest.mark.murano(config={"serve": {"rate_limits": True}})
def test_rate_limit_zero_is_no_limit(murano_solution, solution):
    # Exosite's template sets rate_limit 0; the page does not say what 0 means: none, as its default
    (solution / "services").mkdir()
    (solution / "services" / "webservice.yaml").write_text("rate_limit: 0\n")
    served = murano_solution(solution)
    assert {served.get("/free").status_code for _ in range(5)} == {200}


def test_serve_takes_no_rate_limit():
    assert build_parser().parse_args(["serve", ".", "--no-rate-limit"]).no_rate_limit is True
    assert build_parser().parse_args(["serve", "."]).no_rate_limit is False


SOCKET = """--#ENDPOINT WEBSOCKET /feed
--#RATELIMIT 1
if websocketInfo.type == "data" then return "echo " .. websocketInfo.message end
"""
UPGRADE = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
           "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}


@pytest.mark.murano(config={"serve": {"rate_limits": True}})
def test_a_websocket_upgrade_counts_against_its_endpoints_limit(murano_solution, solution):
    (solution / "endpoints" / "feed.lua").write_text(SOCKET)
    served = murano_solution(solution)
    client = Client.connect(served.url.replace("http://", "ws://") + "/feed")
    try:
        client.send("one")
        assert client.receive(timeout=60) == "echo one"  # the first upgrade within the minute is served
    finally:
        client.close()
    refused = served.get("/feed", headers=UPGRADE)  # the second is refused as an HTTP answer, not upgraded
    assert refused.status_code == 429 and refused.json()["status"] == 429
    assert refused.headers.get("Upgrade") is None
    served.advance(61)
    again = Client.connect(served.url.replace("http://", "ws://") + "/feed")
    again.close()


def test_websocket_upgrades_are_not_limited_in_fixtures_unless_turned_on(murano_solution, solution):
    (solution / "endpoints" / "feed.lua").write_text(SOCKET)
    served = murano_solution(solution)
    for _ in range(3):
        Client.connect(served.url.replace("http://", "ws://") + "/feed").close()
