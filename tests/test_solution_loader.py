"""Loading a solution: folder layouts, endpoint and event headers, modules, and problems reported with file:line.

Every problem in a solution's files is a warning or an error on the Solution, never a raised
ConfigError: real solutions must load (see docs/solutions.md).
"""

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


def load_warnings(root: Path, files: dict[str, str]) -> list[str]:
    return load_solution(make_solution(root, files)).warnings


def load_errors(root: Path, files: dict[str, str]) -> list[str]:
    return load_solution(make_solution(root, files)).errors


def test_newer_layout_loads_endpoints_modules_handlers_and_init():
    solution = load_solution(SOLUTIONS / "newer")
    assert solution.layout == "folders"
    routes = {(e.method, e.path) for e in solution.endpoints}
    assert {("GET", "/users/{id}"), ("POST", "/users"), ("POST", "/twilio/sms")} <= routes
    assert set(solution.handlers) == {("timer", "timer"), ("device2", "data_in")}
    assert set(solution.modules) == {"util", "modules.util"}
    assert solution.global_modules == [] and solution.init_script[0] == "init.lua"


def test_older_layout_modules_without_return_are_global_and_all_can_be_required():
    solution = load_solution(SOLUTIONS / "older")
    assert solution.layout == "folders"
    assert [file for file, _ in solution.global_modules] == ["modules/greeter.lua"]
    assert {"greeter", "shapes", "modules.greeter", "modules.shapes"} == set(solution.modules)
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
    assert solution.modules["lib.strings"] == solution.modules["modules.lib.strings"]


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
def test_malformed_endpoint_header_is_a_warning_with_file_and_line(tmp_path, header, fragment):
    files = {"endpoints/bad.lua": f"-- comment\n{header}\nreturn 1\n", "endpoints/ok.lua": "--#ENDPOINT GET /ok\n"}
    solution = load_solution(make_solution(tmp_path, files))
    assert [w for w in solution.warnings if w.startswith(fragment)], solution.warnings
    assert [e.path for e in solution.endpoints] == (["/x"] if "content type" in fragment else []) + ["/ok"]


def test_duplicate_route_names_both_places_and_the_first_wins(tmp_path):
    solution = load_solution(make_solution(tmp_path, {
        "endpoints/a.lua": "--#ENDPOINT GET /users/{id}\nreturn 1\n",
        "endpoints/b.lua": "\n\n--#ENDPOINT GET /users/{uid}\nreturn 2\n",
    }))
    assert solution.warnings == [
        "endpoints/b.lua:3: duplicate route GET /users/{uid} (already declared at endpoints/a.lua:1); the first wins"
    ]
    assert [e.file for e in solution.endpoints] == ["endpoints/a.lua"]


def test_same_path_with_another_method_is_not_a_duplicate(tmp_path):
    make_solution(tmp_path, {"endpoints/a.lua": "--#ENDPOINT GET /x\nreturn 1\n--#ENDPOINT POST /x\nreturn 2\n"})
    assert len(load_solution(tmp_path).endpoints) == 2


def test_endpoint_file_without_header_is_skipped_with_a_warning(tmp_path):
    warnings = load_warnings(tmp_path, {"endpoints/a.lua": "return 1\n"})
    assert warnings[0].startswith("endpoints/a.lua:1: no --#ENDPOINT header, skipped")


def test_code_before_the_first_header_is_ignored_with_a_warning(tmp_path):
    warnings = load_warnings(tmp_path, {"endpoints/a.lua": "-- ok\nlocal x = 1\n--#ENDPOINT GET /x\nreturn x\n"})
    assert warnings[0].startswith("endpoints/a.lua:2: code before the first --#ENDPOINT header")


def test_lua_syntax_error_is_an_error_at_load_time_with_its_line_and_the_endpoint_stays(tmp_path):
    solution = load_solution(make_solution(tmp_path, {"endpoints/a.lua": "--#ENDPOINT GET /x\nlocal x = \nreturn )\n"}))
    assert len(solution.errors) == 1 and solution.errors[0].startswith("endpoints/a.lua:3:")
    with Runtime({}) as runtime:  # the broken endpoint answers with the same error
        result = runtime.run(solution.endpoints[0].source, name=solution.endpoints[0].file)
    assert result.error.startswith("endpoints/a.lua:3:")


def test_syntax_error_in_a_module_is_found_at_load_time(tmp_path):
    errors = load_errors(tmp_path, {"modules/m.lua": "local = 1\n"})
    assert errors[0].startswith("modules/m.lua:1:")


def test_one_word_event_header_takes_the_file_name_as_alias(tmp_path):
    make_solution(tmp_path, {"services/x.lua": "--#EVENT device2\nreturn 1\n"})
    assert set(load_solution(tmp_path).handlers) == {("x", "device2")}


def test_malformed_event_header_is_a_warning(tmp_path):
    warnings = load_warnings(tmp_path, {"services/x.lua": "--#EVENT a b c\nreturn 1\n"})
    assert warnings == ["services/x.lua:1: malformed header, skipped: expected `--#EVENT [<alias>] <event>`"]


def test_event_file_name_without_event_is_a_warning(tmp_path):
    warnings = load_warnings(tmp_path, {"services/timer.lua": "return 1\n"})
    assert warnings[0].startswith("services/timer.lua:1: not loaded as an event handler: cannot tell the event")


def test_duplicate_event_handler_is_a_warning_and_the_first_wins(tmp_path):
    solution = load_solution(make_solution(tmp_path, {
        "services/timer_timer.lua": "return 1\n",
        "services/other.lua": "--#EVENT timer timer\nreturn 2\n",
    }))
    assert solution.warnings == [
        "services/timer_timer.lua:1: duplicate event handler timer timer "
        "(already declared at services/other.lua:1); the first wins"
    ]
    assert solution.handlers[("timer", "timer")].file == "services/other.lua"


def test_event_file_name_splits_at_the_first_underscore(tmp_path):
    make_solution(tmp_path, {"services/device2_data_in.lua": "return 1\n"})
    assert ("device2", "data_in") in load_solution(tmp_path).handlers


def test_not_a_solution(tmp_path):
    with pytest.raises(ConfigError, match="not a Murano solution"):
        load_solution(make_solution(tmp_path, {"README.txt": "hello"}))


def test_missing_directory(tmp_path):
    with pytest.raises(ConfigError, match="no such solution directory"):
        load_solution(tmp_path / "absent")


def test_endpoints_and_routes_folders_both_load_with_a_warning(tmp_path):
    solution = load_solution(make_solution(
        tmp_path, {"endpoints/a.lua": "--#ENDPOINT GET /a\n", "routes/b.lua": "--#ENDPOINT GET /b\n"}
    ))
    assert [e.path for e in solution.endpoints] == ["/a", "/b"]
    assert any("both endpoints/ and routes/" in w for w in solution.warnings)
