"""Every layout Exosite's tools wrote, every header form: what load_solution finds, and real Lua answers.

The solutions under tests/solutions/layout-* and placeholders/ are the project's own, written
from the platform reference; each endpoint's comment states the answer these tests check.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from murano_sim import Runtime
from murano_sim.solution import load_solution
from murano_sim.solution.headers import handler_key_from_path
from murano_sim.solution.luascan import has_top_level_return, service_uses, static_requires
from murano_sim.solution.model import Solution

SOLUTIONS = Path(__file__).resolve().parent / "solutions"

LAYOUTS = {
    "layout-murano-yaml": {
        "layout": "murano.yaml",
        "endpoints": {("GET", "/api/sum"), ("POST", "/api/describe"), ("GET", "/api/legacy"),
                      ("WEBSOCKET", "/api/live"), ("GET", "/api/shout/{word}")},
        "handlers": {("config", "service"), ("config", "fallback"), ("device2", "event"), ("interface", "myOp"),
                     ("user", "account"), ("timer", "timer"), ("scripts", "asyncJob"),
                     ("websocket", "websocket_info")},
        "modules": {"c2c.utils", "vendor.configIO", "legacy"},
        "global_modules": ["modules/legacy.lua"],
        "assets": {"assets": ["index.html", "js/app.js"]},
        "default_page": "index.html",
        "init_script": "init.lua",
    },
    "layout-project-file": {
        "layout": "demo.murano",
        "endpoints": {("GET", "/users/{id}"), ("POST", "/users")},
        "handlers": {("timer", "timer"), ("user", "account")},
        "modules": {"text.format"},
        "global_modules": [],
        "assets": {"public": ["home.html"]},
        "default_page": "home.html",
        "init_script": None,
    },
    "layout-solutionfile-02": {
        "layout": "Solutionfile.json",
        "endpoints": {("GET", "/api/v1/double/{n}"), ("GET", "/api/v1/reverse/{word}"), ("PUT", "/api/v1/store")},
        "handlers": {("device", "datapoint"), ("timer", "timer")},
        "modules": {"util", "strings"},
        "global_modules": ["modules/util.lua"],
        "assets": {"public": ["index.html"]},
        "default_page": "index.html",
        "init_script": None,
    },
    "layout-solutionfile-03": {
        "layout": "Solutionfile.json",
        "endpoints": {("GET", "/square/{n}"), ("DELETE", "/square")},
        "handlers": {("timer", "timer"), ("device2", "data_in")},
        "modules": {"mathx", "lib.mathx"},
        "global_modules": [],
        "assets": {"static": ["start.html"]},
        "default_page": "start.html",
        "init_script": None,
    },
    "layout-murano-config": {
        "layout": ".murano/config",
        "endpoints": {("GET", "/status")},
        "handlers": {("timer", "timer")},
        "modules": {"fmt"},
        "global_modules": [],
        "assets": {"web": ["main.html"]},
        "default_page": "main.html",
        "init_script": None,
    },
    "layout-folders-2016": {
        "layout": "folders",
        "endpoints": {("GET", "/users/{name}"), ("GET", "/admins"), ("POST", "/users")},
        "handlers": {("device", "datapoint")},
        "modules": {"table.util", "userutil"},
        "global_modules": ["modules/table.util.lua", "modules/userutil.lua"],
        "assets": {"files": ["index.html"]},
        "default_page": "index.html",
        "init_script": None,
    },
    "placeholders": {
        "layout": "folders",
        "endpoints": {("GET", "/ping")},
        "handlers": {("{product.id}", "event"), ("k3yp4d", "asyncJob"), ("device2", "data_in"),
                     ("device2", "provisioned"), ("my", "product_event")},
        "modules": {"words"},
        "global_modules": [],
        "assets": {},
        "default_page": "index.html",
        "init_script": None,
    },
}

# (solution, method, path, body, expected message): the `-- expect` comment of each endpoint.
ANSWERS = [
    ("layout-murano-yaml", "GET", "/api/sum", None, {"sum": 10}),
    ("layout-murano-yaml", "POST", "/api/describe", [2, 3, 5], {"count": 3, "total": 10}),
    ("layout-murano-yaml", "GET", "/api/legacy", None, {"version": 3, "twice": 14, "prefixed": 10}),
    ("layout-murano-yaml", "GET", "/api/shout/hello", None, "HELLO!"),
    ("layout-project-file", "GET", "/users/7", None, {"label": "user #7"}),
    ("layout-project-file", "POST", "/users", "ada", "created user #ada"),
    ("layout-solutionfile-02", "GET", "/api/v1/double/21", None, {"result": 42}),
    ("layout-solutionfile-02", "GET", "/api/v1/reverse/abc", None, "cba"),
    ("layout-solutionfile-02", "PUT", "/api/v1/store", None, {"stored": True}),
    ("layout-solutionfile-03", "GET", "/square/9", None, {"square": 81}),
    ("layout-solutionfile-03", "DELETE", "/square", None, "nothing to delete"),
    ("layout-murano-config", "GET", "/status", None, {"status": "ok (2 checks)"}),
    ("layout-folders-2016", "GET", "/users/ada", None, {"user": "ada", "admin": False}),
    ("layout-folders-2016", "GET", "/admins", None, {"admins": ["root"], "has_root": True}),
    ("layout-folders-2016", "POST", "/users", None, {"created": True}),
    ("placeholders", "GET", "/ping", None, {"pong": "PING"}),
]


def primary_module_names(solution: Solution) -> set[str]:
    return {name for name in solution.modules if not name.startswith("modules.")}


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_each_layout_loads_what_it_declares(name):
    expected = LAYOUTS[name]
    solution = load_solution(SOLUTIONS / name)
    assert solution.layout == expected["layout"]
    assert {(e.method, e.path) for e in solution.endpoints} == expected["endpoints"]
    assert set(solution.handlers) == expected["handlers"]
    assert primary_module_names(solution) == expected["modules"]
    assert [file for file, _ in solution.global_modules] == expected["global_modules"]
    assets = {a.path.relative_to(solution.root).as_posix(): a.files() for a in solution.assets}
    assert assets == expected["assets"]
    assert solution.default_page == expected["default_page"]
    assert (solution.init_script[0] if solution.init_script else None) == expected["init_script"]
    assert solution.errors == []


@pytest.mark.parametrize("name", sorted(set(LAYOUTS) - {"placeholders"}))
def test_layouts_load_without_warnings(name):
    assert load_solution(SOLUTIONS / name).warnings == []


def test_every_module_is_also_accepted_with_the_modules_prefix():
    solution = load_solution(SOLUTIONS / "layout-murano-yaml")
    assert solution.modules["modules.c2c.utils"] == solution.modules["c2c.utils"]
    assert solution.modules["c2c.utils"][0] == "modules/c2c/utils.lua"


@pytest.fixture(scope="module")
def runtime():
    with Runtime({}) as runtime:
        yield runtime


@pytest.mark.parametrize("name, method, path, body, expected", ANSWERS)
def test_endpoint_answers_through_its_modules(runtime, name, method, path, body, expected):
    solution = load_solution(SOLUTIONS / name)
    index, parameters = solution.url_map.bind("localhost").match(path, method=method)
    endpoint = solution.endpoints[index]
    result = runtime.run(
        endpoint.source, {"method": method, "parameters": parameters, "body": body},
        name=endpoint.file, modules=solution.modules, prelude=solution.global_modules,
    )
    assert result.error is None
    assert result.response.message == expected


def test_annotations_after_the_header_are_parsed():
    solution = load_solution(SOLUTIONS / "layout-murano-yaml")
    by_path = {e.path: e for e in solution.endpoints}
    total = by_path["/api/sum"]
    assert (total.tags, total.security, total.ratelimit) == (("math", "public"), "none", 60)
    assert (total.summary, total.description) == ("Adds 1 to 4", "Uses the c2c.utils module.")
    describe = by_path["/api/describe"]
    assert (describe.method, describe.content_type, describe.security) == ("POST", "application/json", "bearer")
    assert by_path["/api/shout/{word}"].security == "apiKey"
    assert by_path["/api/live"].method == "WEBSOCKET" and not by_path["/api/live"].served
    assert by_path["/api/legacy"].tags == () and by_path["/api/legacy"].security is None


def test_websocket_endpoints_are_not_in_the_http_url_map():
    solution = load_solution(SOLUTIONS / "layout-murano-yaml")
    adapter = solution.url_map.bind("localhost")
    assert {rule.rule for rule in adapter.map.iter_rules()} == {
        "/api/sum", "/api/describe", "/api/legacy", "/api/shout/<word>"
    }


def test_murano_yaml_gives_env_schema_cors_service_configs_and_referenced_services():
    solution = load_solution(SOLUTIONS / "layout-murano-yaml")
    assert solution.env_schema["GREETING"].startswith("The word")
    assert solution.cors["methods"] == ["GET", "POST"]
    assert solution.service_configs == {
        "config": {"reuse_vm": True},
        "device2": {"protocol": {"name": "onep", "devmode": True}, "provisioning": {"auth_type": "token"},
                    "resources": {"temperature": {"format": "number"}}},
        "timer": {},
    }
    assert solution.referenced_services == {"Tsdb", "keystore"}  # Legacy is the solution's own global


def test_cors_from_a_path_in_the_project_file_and_murano_config():
    assert load_solution(SOLUTIONS / "layout-project-file").cors == {
        "origin": ["http://localhost:3000"], "methods": ["GET"], "credentials": True
    }
    assert load_solution(SOLUTIONS / "layout-murano-config").cors == {"origin": ["*"], "methods": ["GET"]}
    assert load_solution(SOLUTIONS / "layout-solutionfile-02").cors["headers"] == ["content-type"]


def test_project_file_exclude_glob_leaves_out_a_file():
    solution = load_solution(SOLUTIONS / "layout-project-file")
    assert "api/wip.draft.lua" not in {e.file for e in solution.endpoints}


def test_one_word_event_header_takes_the_file_name_and_scripts_keep_their_lines():
    solution = load_solution(SOLUTIONS / "layout-murano-yaml")
    fallback = solution.handlers[("config", "fallback")]
    assert (fallback.file, fallback.line) == ("services/config.lua", 6)
    assert "unhandled" in fallback.source and "service.service" not in fallback.source
    assert fallback.source.split("\n")[7] == 'return "unhandled " .. tostring(event.type)'


def test_placeholder_and_unknown_aliases_are_kept_with_a_warning():
    solution = load_solution(SOLUTIONS / "placeholders")
    assert solution.handlers[("{product.id}", "event")].file == "services/product.lua"
    assert solution.warnings == [
        "services/custom.lua:2: 'k3yp4d' is not a Murano service alias: "
        "kept as the script key k3yp4d asyncJob, fired only on request",
        "services/my_product_event.lua:1: 'my' is not a Murano service alias: "
        "kept as the script key my product_event, fired only on request",
        "services/product.lua:2: '{product.id}' is not a Murano service alias: "
        "kept as the script key {product.id} event, fired only on request",
    ]


@pytest.mark.parametrize(
    "under, key",
    [
        ("websocket_websocket_info.lua", ("websocket", "websocket_info")),
        ("scripts_asyncJob.lua", ("scripts", "asyncJob")),
        ("user_account.lua", ("user", "account")),
        ("device2_data_in.lua", ("device2", "data_in")),
        ("device_datapoint.lua", ("device", "datapoint")),
        ("my_product_event.lua", ("my", "product_event")),
        ("interface/myOp.lua", ("interface", "myOp")),
        ("device2/event.lua", ("device2", "event")),
    ],
)
def test_handler_file_names_split_after_the_longest_known_alias(under, key):
    assert handler_key_from_path(under) == key


@pytest.mark.parametrize("under", ["timer.lua", "a/b/c.lua", "_x.lua"])
def test_handler_file_names_that_cannot_be_mapped_say_why(under):
    assert isinstance(handler_key_from_path(under), str)


# -- problems: warnings and errors, never a failed load ---------------------------------------
def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_an_unreadable_descriptor_is_an_error_and_the_folders_still_load(tmp_path):
    solution = load_solution(write(tmp_path, {
        "murano.yaml": "endpoints: [unclosed\n",
        "endpoints/a.lua": "--#ENDPOINT GET /a\nreturn 1\n",
    }))
    assert solution.layout == "folders"
    assert [e.path for e in solution.endpoints] == ["/a"]
    assert len(solution.errors) == 1 and solution.errors[0].startswith("murano.yaml:2: invalid YAML")


def test_murano_yaml_section_can_point_endpoints_at_routes(tmp_path):
    solution = load_solution(write(tmp_path, {
        "murano.yaml": "formatversion: 1.0.0\nendpoints:\n  location: routes\n",
        "routes/a.lua": "--#ENDPOINT GET /a\nreturn 1\n",
        "endpoints/ignored.lua": "--#ENDPOINT GET /ignored\nreturn 1\n",
    }))
    assert [e.file for e in solution.endpoints] == ["routes/a.lua"]


def test_a_service_config_with_bad_yaml_is_a_warning(tmp_path):
    solution = load_solution(write(tmp_path, {"services/timer.yaml": "a: [1\n", "services/config.yaml": ""}))
    assert solution.service_configs == {"config": {}}
    assert solution.warnings[0].startswith("services/timer.yaml:2: invalid YAML")


def test_a_syntax_error_in_a_handler_is_an_error_and_the_rest_loads(tmp_path):
    solution = load_solution(write(tmp_path, {
        "services/timer_timer.lua": "return (\n",
        "endpoints/a.lua": "--#ENDPOINT GET /a\nreturn 1\n",
    }))
    assert solution.errors[0].startswith("services/timer_timer.lua:")
    assert ("timer", "timer") in solution.handlers and len(solution.endpoints) == 1


def test_a_require_of_a_missing_module_is_a_warning(tmp_path):
    solution = load_solution(write(tmp_path, {
        "endpoints/a.lua": "--#ENDPOINT GET /a\nlocal x = require('nope.missing')\nreturn require('staging.mcrypto')\n",
    }))
    assert solution.warnings == ["endpoints/a.lua:2: require('nope.missing'): no such module in the solution"]


def test_solutionfile_module_key_is_the_require_name(tmp_path):
    solution = load_solution(write(tmp_path, {
        "Solutionfile.json": '{"modules": {"helpers": "src/help.lua"}}',
        "src/help.lua": "return {}\n",
    }))
    assert {"helpers", "src.help", "modules.helpers"} <= set(solution.modules)


def test_eventhandlers_and_services_folders_both_load(tmp_path):
    solution = load_solution(write(tmp_path, {
        "eventhandlers/timer_timer.lua": "return 1\n",
        "services/user_account.lua": "return 2\n",
        "event_handler/device_datapoint.lua": "return 3\n",
    }))
    assert set(solution.handlers) == {("timer", "timer"), ("user", "account"), ("device", "datapoint")}


# -- the Lua scanner ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "source, returns",
    [
        ("local M = {}\nreturn M\n", True),
        ("local M = {}\nreturn M -- done\n--[[ trailing\ncomment ]]\n", True),
        ("G = {}\nfunction G.f() return 1 end\n", False),
        ("G = {}\n-- return G\n", False),
        ("G = [[\nreturn G\n]]\n", False),
        ("G = 'return'\nif G then return end\n", False),
        ("do return end\n", False),
        ("for i = 1, 2 do G = i end\nwhile false do end\nrepeat until true\nreturn G\n", True),
        ("--[==[ ]] return x ]==]\nG = 1\n", False),
    ],
)
def test_a_module_is_global_when_it_has_no_top_level_return(source, returns):
    assert has_top_level_return(source) is returns


def test_static_requires_and_service_uses_skip_comments_and_strings():
    source = (
        "-- require('commented')\nlocal a = require 'a.b'\nlocal s = \"Keystore.get{}\"\n"
        "local r = Tsdb.query{metric = 'x'}\nlocal u = User.listUsers()\n"
        "local d = murano.services.device2.getIdentity(x)\nmurano.service_call('email', 'send', {})\n"
        "Mine = {}\nMine.go(1)\nt.Other.call()\n"
    )
    assert static_requires(source) == [("a.b", 2)]
    used, defined = service_uses(source)
    assert used == {"Tsdb", "User", "device2", "email", "Mine"} and defined == {"Mine"}


def test_a_solutionfile_key_the_format_lacks_is_a_warning_with_the_near_name(tmp_path):
    # A 2017 quickstart spelled its handlers "eventhandlers" (plural): neither Murano tool read the key,
    # so its handlers never ran; murano-sim says so instead of loading nothing silently.
    (tmp_path / "api.lua").write_text("--#ENDPOINT GET /x\nreturn 1\n")
    (tmp_path / "Solutionfile.json").write_text(json.dumps({
        "custom_api": "api.lua", "eventhandlers": {"device": {"datapoint": "h.lua"}}, "routes_hook": "/_init"}))
    solution = load_solution(tmp_path)
    assert solution.warnings == [
        "Solutionfile.json: unknown key `eventhandlers` (did you mean `event_handler`?); Murano's tools ignore it"]
    assert not solution.handlers


def test_a_solutionfile_muranocli_refuses_beside_its_folders_loads_the_folders(tmp_path):
    # Exosite's 2017 device-sensor quickstart: deployed with `murano syncup --all` (MuranoCLI), a stray
    # Solutionfile that MuranoCLI's sf-v0.2.0 schema refuses (no event_handler), and MuranoCLI's folders.
    (tmp_path / "routes").mkdir()
    (tmp_path / "routes" / "device.get.lua").write_text("--#ENDPOINT GET /device\nreturn Device.list{pid = 'p'}\n")
    (tmp_path / "eventhandlers").mkdir()
    (tmp_path / "eventhandlers" / "device_datapoint.lua").write_text("--#EVENT device datapoint\nprint(data.alias)\n")
    (tmp_path / "api_routes.lua").write_text("--#ENDPOINT GET /development/test\nreturn 1\n")
    (tmp_path / "Solutionfile.json").write_text(json.dumps({
        "default_page": "index.html", "file_dir": "files", "custom_api": "api_routes.lua",
        "eventhandlers": {"device": {"datapoint": "eventhandlers/device_datapoint.lua"}}}))
    solution = load_solution(tmp_path)
    assert solution.warnings == [
        "Solutionfile.json: version 0.2: no event_handler; unknown eventhandlers: MuranoCLI refuses such a file "
        "and syncs its default folders, which are here (routes/): loading the folders"]
    assert [(e.method, e.path) for e in solution.endpoints] == [("GET", "/device")]
    assert list(solution.handlers) == [("device", "datapoint")]
    assert solution.era == 2017


def test_a_solutionfile_the_exosite_tool_took_stays_without_muranocli_folders(tmp_path):
    # a 2016 file without event_handler (MuranoCLI's schema wants one) and no MuranoCLI folders:
    # the Python `exosite` tool deployed it as written
    (tmp_path / "api.lua").write_text("--#ENDPOINT GET /simple-get\nreturn 'special'\n")
    (tmp_path / "Solutionfile.json").write_text(json.dumps({"default_page": "index.html", "file_dir": "public",
                                                            "custom_api": "api.lua"}))
    solution = load_solution(tmp_path)
    assert solution.warnings == [] and [e.path for e in solution.endpoints] == ["/simple-get"]
    assert solution.era == 2016


def test_a_muranocli_projects_product_spec_gives_the_device_apis_resources(murano_solution, tmp_path):
    # MuranoCLI's location.specs (2017): specs/resources.yaml, which `murano syncup` gave the product
    (tmp_path / "eventhandlers").mkdir()
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "resources.yaml").write_text(
        "resources:\n- alias: state\n  format: string\n- alias: temperature\n  format: integer\n- format: float\n")
    (tmp_path / "routes").mkdir()
    (tmp_path / "routes" / "aliases.get.lua").write_text("""--#ENDPOINT GET /aliases
local names = {}
for _, r in ipairs(Device.productInfo{pid = "p"}.resources) do names[#names + 1] = r.alias .. ":" .. r.format end
return names
""")
    solution = load_solution(tmp_path)
    assert solution.era == 2017
    assert solution.service_configs["device2"] == {"resources": {
        "state": {"format": "string", "settable": True}, "temperature": {"format": "number", "settable": True}}}
    assert solution.warnings == ["specs/resources.yaml: a resource needs an `alias`; {'format': 'float'} ignored"]
    assert murano_solution(tmp_path).get("/aliases").json() == ["state:string", "temperature:number"]
