"""Loading a solution: both layouts, endpoint and event headers, modules, and load-time errors with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from murano_sim import ConfigError, Runtime
from murano_sim.solution import load_solution
from murano_sim.solution.loader import route_rule

SOLUTIONS = Path(__file__).resolve().parent / "solutions"


def make_solution(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def load_error(root: Path, files: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as info:
        load_solution(make_solution(root, files))
    return str(info.value)


def test_newer_layout_loads_endpoints_modules_handlers_and_init():
    solution = load_solution(SOLUTIONS / "newer")
    assert solution.layout == "newer"
    routes = {(e.method, e.path) for e in solution.endpoints}
    assert {("GET", "/users/{id}"), ("POST", "/users"), ("POST", "/twilio/sms")} <= routes
    assert set(solution.handlers) == {("timer", "timer"), ("device2", "data_in")}
    assert set(solution.modules) == {"modules.util"}
    assert [file for file, _ in solution.prelude] == ["init.lua"]


def test_older_layout_runs_modules_as_prelude_and_offers_require():
    solution = load_solution(SOLUTIONS / "older")
    assert solution.layout == "older"
    assert [file for file, _ in solution.prelude] == ["modules/greeter.lua", "modules/shapes.lua"]
    assert set(solution.modules) == {"modules.greeter", "modules.shapes"}
    assert set(solution.handlers) == {("device2", "data_in")}


def test_test_and_spec_files_are_not_deployed():
    newer, older = load_solution(SOLUTIONS / "newer"), load_solution(SOLUTIONS / "older")
    files = {e.file for e in newer.endpoints + older.endpoints}
    assert "endpoints/api_spec.lua" not in files and "routes/greetings_spec.lua" not in files


def test_test_and_spec_files_are_skipped_in_every_folder(tmp_path):
    make_solution(tmp_path, {
        "endpoints/a_test.lua": "not lua at all",
        "endpoints/b_spec.lua": "--#ENDPOINT NOPE",
        "modules/m_test.lua": "not lua",
        "services/timer_timer_spec.lua": "not lua",
        "endpoints/ok.lua": "--#ENDPOINT GET /ok\nreturn 1\n",
    })
    solution = load_solution(tmp_path)
    assert [e.file for e in solution.endpoints] == ["endpoints/ok.lua"]
    assert solution.modules == {} and solution.handlers == {}


def test_each_header_starts_an_endpoint_and_keeps_the_files_line_numbers(tmp_path):
    make_solution(tmp_path, {"endpoints/a.lua": "-- two endpoints\n--#ENDPOINT GET /one\nreturn 1\n"
                             "--#ENDPOINT GET /two\n\nerror('boom')\n"})
    solution = load_solution(tmp_path)
    one, two = solution.endpoints
    assert (one.line, two.line) == (2, 4)
    assert "boom" not in one.source and "return 1" not in two.source
    with Runtime({}) as runtime:
        result = runtime.run(two.source, name=two.file)
    assert result.error == "endpoints/a.lua:6: boom"


def test_route_parameters_become_werkzeug_converters():
    assert route_rule("/users/{id}/items/{item}") == "/users/<id>/items/<item>"
    assert route_rule("/files/{rest*}") == "/files/<path:rest>"


def test_content_type_and_module_names_from_subfolders(tmp_path):
    make_solution(tmp_path, {
        "endpoints/a.lua": "--#ENDPOINT GET /page text/html\nreturn '<p/>'\n",
        "modules/lib/strings.lua": "return {}\n",
    })
    solution = load_solution(tmp_path)
    assert solution.endpoints[0].content_type == "text/html"
    assert "modules.lib.strings" in solution.modules


@pytest.mark.parametrize(
    "header, fragment",
    [
        ("--#ENDPOINT GET", "endpoints/bad.lua:2: malformed header"),
        ("--#ENDPOINT FETCH /x", "endpoints/bad.lua:2: unknown method 'FETCH'"),
        ("--#ENDPOINT GET users", "endpoints/bad.lua:2: malformed path 'users'"),
        ("--#ENDPOINT GET /users/{id", "endpoints/bad.lua:2: malformed path"),
        ("--#ENDPOINT GET /users/{1d}", "endpoints/bad.lua:2: malformed path parameter {1d}"),
        ("--#ENDPOINT GET /a/{id}/{id}", "endpoints/bad.lua:2: path '/a/{id}/{id}' repeats a parameter name"),
        ("--#ENDPOINT GET /x text/html extra", "endpoints/bad.lua:2: malformed header"),
        ("--#ENDPOINT GET /x text", "endpoints/bad.lua:2: malformed content type 'text'"),
    ],
)
def test_malformed_endpoint_header_is_reported_with_file_and_line(tmp_path, header, fragment):
    message = load_error(tmp_path, {"endpoints/bad.lua": f"-- comment\n{header}\nreturn 1\n"})
    assert message.startswith(fragment)


def test_duplicate_route_names_both_places(tmp_path):
    message = load_error(tmp_path, {
        "endpoints/a.lua": "--#ENDPOINT GET /users/{id}\nreturn 1\n",
        "endpoints/b.lua": "\n\n--#ENDPOINT GET /users/{uid}\nreturn 2\n",
    })
    assert message == "endpoints/b.lua:3: duplicate route GET /users/{uid} (already declared at endpoints/a.lua:1)"


def test_same_path_with_another_method_is_not_a_duplicate(tmp_path):
    make_solution(tmp_path, {"endpoints/a.lua": "--#ENDPOINT GET /x\nreturn 1\n--#ENDPOINT POST /x\nreturn 2\n"})
    assert len(load_solution(tmp_path).endpoints) == 2


def test_endpoint_file_without_header_is_an_error(tmp_path):
    message = load_error(tmp_path, {"endpoints/a.lua": "return 1\n"})
    assert message.startswith("endpoints/a.lua:1: no --#ENDPOINT header")


def test_code_before_the_first_header_is_an_error(tmp_path):
    message = load_error(tmp_path, {"endpoints/a.lua": "-- ok\nlocal x = 1\n--#ENDPOINT GET /x\nreturn x\n"})
    assert message.startswith("endpoints/a.lua:2: code before the first --#ENDPOINT header")


def test_lua_syntax_error_is_found_at_load_time_with_its_line(tmp_path):
    message = load_error(tmp_path, {"endpoints/a.lua": "--#ENDPOINT GET /x\nlocal x = \nreturn )\n"})
    assert message.startswith("endpoints/a.lua:3:")


def test_syntax_error_in_a_module_is_found_at_load_time(tmp_path):
    message = load_error(tmp_path, {"modules/m.lua": "local = 1\n"})
    assert message.startswith("modules/m.lua:1:")


def test_malformed_event_header(tmp_path):
    message = load_error(tmp_path, {"services/x.lua": "--#EVENT device2\nreturn 1\n"})
    assert message.startswith("services/x.lua:1: malformed header: expected `--#EVENT <service> <event>`")


def test_event_file_name_without_event_needs_a_header(tmp_path):
    message = load_error(tmp_path, {"services/timer.lua": "return 1\n"})
    assert message.startswith("services/timer.lua:1: cannot tell the event")


def test_duplicate_event_handler(tmp_path):
    message = load_error(tmp_path, {
        "services/timer_timer.lua": "return 1\n",
        "services/other.lua": "--#EVENT timer timer\nreturn 2\n",
    })
    assert message == (
        "services/timer_timer.lua:1: duplicate event handler timer timer (already declared at services/other.lua:1)"
    )


def test_event_file_name_splits_at_the_first_underscore(tmp_path):
    make_solution(tmp_path, {"services/device2_data_in.lua": "return 1\n"})
    assert ("device2", "data_in") in load_solution(tmp_path).handlers


def test_not_a_solution(tmp_path):
    assert "not a Murano solution" in load_error(tmp_path, {"README.txt": "hello"})


def test_missing_directory(tmp_path):
    with pytest.raises(ConfigError, match="no such solution directory"):
        load_solution(tmp_path / "absent")


def test_both_layouts_at_once_is_an_error(tmp_path):
    message = load_error(tmp_path, {"endpoints/a.lua": "--#ENDPOINT GET /a\n", "routes/b.lua": "--#ENDPOINT GET /b\n"})
    assert "both endpoints/" in message
