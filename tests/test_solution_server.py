"""A served solution over real HTTP: routing, Murano's request/response, contexts, logs, hot reload."""

from __future__ import annotations

import http.client
import io
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from murano_sim import Runtime
from murano_sim.solution import SolutionLog, serve_solution

SOLUTIONS = Path(__file__).resolve().parent / "solutions"
TOKEN = "f0e1d2c3b4a5968778695a4b3c2d1e0f"


class Served:
    """A solution served on a free loopback port, with its log captured."""

    def __init__(self, root: Path, runtime: Runtime, *, json_lines: bool = False) -> None:
        self.stream = io.StringIO()
        self.records: list[dict] = []
        log = SolutionLog(self.stream, json_lines=json_lines, secrets=runtime.config.secrets())
        log.listeners.append(self.records.append)
        self.server = serve_solution(root, runtime, log=log)
        self.url = self.server.url

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url + path, timeout=10, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return requests.post(self.url + path, timeout=10, **kwargs)

    def scripts(self) -> list[dict]:
        return [r for r in self.records if r["type"] == "script"]


@pytest.fixture(scope="module")
def runtime() -> Iterator[Runtime]:
    with Runtime({"services": {"twilio": {"AuthToken": TOKEN}}}) as rt:
        yield rt


@pytest.fixture
def newer(runtime) -> Iterator[Served]:
    runtime.reset()  # each test is a fresh deploy: init.lua runs again
    served = Served(SOLUTIONS / "newer", runtime)
    yield served
    served.server.shutdown()


@pytest.fixture
def older(runtime) -> Iterator[Served]:
    runtime.reset()  # each test is a fresh deploy: init.lua runs again
    served = Served(SOLUTIONS / "older", runtime)
    yield served
    served.server.shutdown()


@pytest.fixture
def editable(tmp_path, runtime) -> Iterator[Served]:
    root = tmp_path / "solution"
    shutil.copytree(SOLUTIONS / "newer", root)
    served = Served(root, runtime)
    served.root = root  # type: ignore[attr-defined]
    yield served
    served.server.shutdown()


def edit(path: Path, text: str) -> None:
    """Rewrite a file so that its size (not only its mtime) changes, as an editor's save does."""
    path.write_text(text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


# -- routing and the request object ------------------------------------------------------------
def test_path_parameter_and_query_merge_into_parameters(newer):
    response = newer.get("/users/42", params={"sort": "asc"})
    assert response.status_code == 200
    data = response.json()
    assert data["id"] == "42" and data["sort"] == "asc"
    assert data["route"] == "/users/{id}" and data["method"] == "GET"


def test_path_parameter_wins_over_a_query_parameter_of_the_same_name(newer):
    assert newer.get("/users/42", params={"id": "7"}).json()["id"] == "42"


def test_wildcard_parameter_takes_the_rest_of_the_path(newer):
    assert newer.get("/files/a/b/c.txt").json() == {"rest": "a/b/c.txt"}


def test_json_body_arrives_decoded(newer):
    response = newer.post("/users", json={"name": "ada", "tags": ["x", "y"]})
    assert response.status_code == 201
    assert response.json() == {"created": "ada", "tags": ["x", "y"]}


def test_non_json_body_arrives_as_text(newer):
    response = newer.post("/users", data="plain words", headers={"content-type": "text/plain"})
    assert response.status_code == 400 and response.text == "expected a JSON object"


def test_request_uri_is_the_complete_url(newer):
    response = newer.post("/twilio/inspect", data={"a": "1"})
    assert response.json()["uri"] == newer.url + "/twilio/inspect"


# -- response defaults --------------------------------------------------------------------------
def test_string_message_is_text_plain(newer):
    response = newer.get("/hello", params={"name": "bob"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain" and response.text == "hello bob"


def test_table_message_is_json(newer):
    assert newer.get("/users/1").headers["content-type"] == "application/json"


def test_header_content_type_is_the_accepted_request_type_not_the_response_type(newer):
    # (It used to set the response's content type: Murano's third field is the request's.)
    response = newer.post("/page", data="hello", headers={"content-type": "text/plain"})
    assert response.text == "<h1>hello</h1>"
    assert response.headers["content-type"] == "text/plain"


def test_script_sets_code_headers_and_message(newer):
    response = newer.get("/custom")
    assert response.status_code == 202
    assert response.headers["x-murano"] == "yes" and response.headers["content-type"] == "application/xml"
    assert response.text == "<ok/>"


def test_unknown_route_is_404(newer):
    assert newer.get("/no/such/route").status_code == 404


def test_known_path_with_another_method_is_404(newer):
    assert requests.delete(newer.url + "/hello", timeout=10).status_code == 404


def test_static_files_are_served_with_index_html_for_a_folder(older):
    index = older.get("/")
    assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
    assert index.text == (SOLUTIONS / "older" / "files" / "index.html").read_text()
    script = older.get("/js/app.js")
    assert script.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert script.text == (SOLUTIONS / "older" / "files" / "js" / "app.js").read_text()
    head = requests.head(older.url + "/index.html", timeout=10)
    assert head.status_code == 200 and head.content == b""


def test_an_endpoint_wins_over_a_static_file_of_the_same_path(older):
    assert (SOLUTIONS / "older" / "files" / "greet" / "ada").is_file()
    assert older.get("/greet/ada").text == older.get("/greet/bob").text.replace("bob", "ada")


@pytest.mark.parametrize("path", ["/.env", "/js/%2e%2e/%2e%2e/routes/greetings.lua", "/js/", "/nothing.html"])
def test_dot_files_paths_outside_files_and_missing_files_are_404(older, path):
    assert older.get(path).status_code == 404


def test_a_raw_path_that_climbs_out_of_files_is_404(older):
    host, port = older.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:  # http.client sends the path as written: no client-side normalisation of ".."
        connection.request("GET", "/../routes/greetings.lua")
        response = connection.getresponse()
        assert (response.status, b"Greeter" in response.read()) == (404, False)
    finally:
        connection.close()


def test_static_files_answer_only_get_and_head(older):
    assert older.post("/index.html").status_code == 404


def test_editing_a_static_file_keeps_the_event_context(editable):
    (editable.root / "files").mkdir()
    page = editable.root / "files" / "index.html"
    page.write_text("<p>one</p>")
    editable.post("/_murano-sim/events/timer/timer")
    assert editable.post("/_murano-sim/events/timer/timer").json()["ticks"] == 2
    edit(page, "<p>two, longer</p>")
    assert editable.get("/").text == "<p>two, longer</p>"
    assert editable.post("/_murano-sim/events/timer/timer").json()["ticks"] == 3


def test_script_error_is_a_generic_500_and_its_message_goes_to_the_log(newer):
    response = newer.get("/fail")
    assert response.status_code == 500
    assert "database exploded" not in response.text and "api.lua" not in response.text
    record = newer.scripts()[-1]
    assert record["error"] == "endpoints/api.lua:38: database exploded"
    assert record["script_output"] == ["about to fail"] and record["status"] == 500
    assert "endpoints/api.lua:38: database exploded" in newer.stream.getvalue()


# -- modules and contexts -----------------------------------------------------------------------
def test_required_module_and_init_lua(newer):
    data = newer.get("/users/ada").json()
    assert data["greeting"] == "hello ada" and data["prefix"] == "newer"


def test_older_style_module_defines_a_global_table(older):
    response = older.get("/greet/bob")
    assert response.status_code == 200 and response.text == "hi bob"


def test_older_layout_can_also_require_a_module(older):
    assert older.get("/required").json() == {"area": 9, "greeting": "hi required"}


def test_globals_persist_between_requests_in_the_hot_vm(newer):
    # (Endpoints used to get a fresh environment per request; Murano's hot VM keeps globals.)
    assert newer.get("/counter").json() == {"counter": 1}
    assert newer.get("/counter").json() == {"counter": 2}


def test_event_handlers_share_one_context(newer):
    first = newer.post("/_murano-sim/events/timer/timer").json()
    device = newer.post("/_murano-sim/events/device2/data_in", json={"identity": "dev-7"}).json()
    second = newer.post("/_murano-sim/events/timer/timer").json()
    assert device["ticks"] == first["ticks"] and device["prefix"] == "newer"
    assert second == {"ticks": first["ticks"] + 1, "last_identity": "dev-7"}


def test_endpoints_and_event_handlers_share_the_solution_environment(newer):
    # (Endpoints used to run apart from the handlers' context; Murano has one VM per solution.)
    newer.post("/_murano-sim/events/timer/timer")
    newer.post("/_murano-sim/events/device2/data_in", json={"identity": "dev-9"})
    assert newer.get("/shared").json() == {"ticks": 1, "last_identity": "dev-9"}


def test_event_handler_in_the_older_layout_sees_module_globals(older):
    assert older.post("/_murano-sim/events/device2/data_in", json={"identity": "d1"}).json()["greeting"] == "hi d1"


def test_trigger_event_from_python(newer):
    result = newer.server.app.trigger_event("device2", "data_in", {"identity": "py"})
    assert result is not None and result.response.message["identity"] == "py"
    assert newer.server.app.trigger_event("nobody", "nothing") is None


def test_unknown_event_is_404_and_a_bad_payload_400(newer):
    assert newer.post("/_murano-sim/events/nobody/nothing").status_code == 404
    assert newer.post("/_murano-sim/events/timer/timer", data="[1]").status_code == 400


# -- logs ---------------------------------------------------------------------------------------
def test_script_log_has_murano_fields(newer):
    newer.get("/users/5", params={"sort": "desc"})
    record = newer.scripts()[-1]
    assert record["service"] == "webservice" and record["event"] == "GET /users/{id}"
    assert record["parameters"] == {"id": "5", "sort": "desc"} and record["status"] == 200
    assert isinstance(record["execution_time_ms"], float) and record["script_output"] == []
    assert record["error"] is None and record["file"] == "endpoints/api.lua"


def test_service_call_log_follows_the_script_log(newer):
    newer.post("/notify", json={"to": "+15551234567", "text": "hi"})
    script, call = newer.records[-2:]
    assert script["type"] == "script" and script["event"] == "POST /notify"
    assert call["type"] == "service_call" and call["request_id"] == script["request_id"]
    assert call["service_alias"] == "twilio" and call["function_call"] == "postMessage"
    assert call["arguments"]["Body"] == "hi" and call["status"] == 201 and "result" in call


def test_text_log_shows_output_and_calls(newer):
    newer.post("/notify", json={"to": "+15551234567", "text": "hi"})
    text = newer.stream.getvalue()
    assert "[webservice] POST /notify -> 200" in text and "> call twilio.postMessage -> 201" in text


def test_json_log_is_one_object_per_line(runtime):
    served = Served(SOLUTIONS / "newer", runtime, json_lines=True)
    try:
        served.get("/fail")
        served.post("/notify", json={"to": "+15551234567", "text": "hi"})
    finally:
        served.server.shutdown()
    lines = served.stream.getvalue().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["type"] for r in records] == ["script", "script", "service_call"]
    assert records[0]["script_output"] == ["about to fail"]


def test_auth_token_never_reaches_the_log(runtime):
    served = Served(SOLUTIONS / "newer", runtime, json_lines=True)
    try:
        served.post("/notify", json={"to": "+15551234567", "text": TOKEN})
    finally:
        served.server.shutdown()
    text = served.stream.getvalue()
    assert TOKEN not in text and "[REDACTED]" in text
    assert TOKEN not in json.dumps(served.records)


# -- hot reload ---------------------------------------------------------------------------------
def test_an_edit_is_served_by_the_next_request(editable):
    assert editable.get("/hello").text == "hello world"
    file = editable.root / "endpoints" / "api.lua"
    edit(file, file.read_text().replace('return "hello " ..', 'return "bonjour " ..'))
    assert editable.get("/hello").text == "bonjour world"


def test_a_new_endpoint_file_is_served_without_restart(editable):
    assert editable.get("/fresh").status_code == 404
    (editable.root / "endpoints" / "fresh.lua").write_text("--#ENDPOINT GET /fresh\nreturn 'new'\n")
    assert editable.get("/fresh").text == "new"


def test_a_module_edit_is_picked_up(editable):
    file = editable.root / "modules" / "util.lua"
    edit(file, file.read_text().replace('"hello "', '"hey there "'))
    assert editable.get("/users/x").json()["greeting"] == "hey there x"


def test_a_broken_edit_gives_500_with_the_error_logged_and_recovers(editable):
    file = editable.root / "endpoints" / "api.lua"
    original = file.read_text()
    edit(file, original.replace('return "hello " ..', 'return ) "hello " ..'))  # a syntax error
    response = editable.get("/hello")
    assert response.status_code == 500 and "near ')'" not in response.text
    assert any("near ')'" in str(r.get("error", "")) for r in editable.records), editable.records
    edit(file, original)
    assert editable.get("/hello").text == "hello world"


def test_reload_starts_a_new_event_context(editable):
    editable.post("/_murano-sim/events/timer/timer")
    assert editable.post("/_murano-sim/events/timer/timer").json()["ticks"] == 2
    (editable.root / "modules" / "extra.lua").write_text("return {}\n")
    assert editable.post("/_murano-sim/events/timer/timer").json()["ticks"] == 1
