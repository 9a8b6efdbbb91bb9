"""docs/configuration.md lists every key of the composed config schema (config/ and each plugin's),
and its generated part is what scripts/config_reference.py makes from the specs today."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _load_config_reference():
    spec = importlib.util.spec_from_file_location("config_reference", ROOT / "scripts" / "config_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("config_reference", module)
    spec.loader.exec_module(module)
    return module


reference = _load_config_reference()
PAGE = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")


def test_every_schema_key_has_a_row():
    keys = reference.all_keys()
    # The walk reaches murano-sim's own keys, a plugin's top-level section and a service's settings.
    assert {"serve.max_queued", "emulator.max_records", "services.keystore.url"} <= set(keys)
    missing = [key for key in keys if key not in reference.named(PAGE)]
    assert not missing, f"docs/configuration.md has no row for {missing}: run python scripts/config_reference.py"


def test_the_generated_rows_are_up_to_date():
    before, block, after = reference.split(PAGE)
    assert block == reference.render(before + after), "run python scripts/config_reference.py"


def test_a_new_key_would_be_caught():
    schema = {"properties": {"serve": {"properties": {"brand_new": {"type": "integer"}}}, "env": {}}}
    keys = list(reference.schema_keys(schema))
    assert keys == ["serve.brand_new", "env"]
    assert "serve.brand_new" not in reference.named(PAGE)
