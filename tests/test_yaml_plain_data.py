"""The lean YAML builder (config/yamlfile.py plain_data) against PyYAML's SafeConstructor: the same data,
of the same types, for every YAML file of the project and for the scalars that trip people up; anything
it does not build itself (anchors, merge keys, other tags) is left to SafeConstructor, errors included."""

from __future__ import annotations

import datetime
import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from murano_sim.config import yamlfile

ROOT = Path(__file__).resolve().parent.parent
CORPUS = sorted(
    path for pattern in ("*.yaml", "*.yml") for path in ROOT.rglob(pattern)
    if not {".git", ".venv", "node_modules"} & set(path.relative_to(ROOT).parts)
)

TRICKY = """\
hex: 0x1f
octal: 0o17
old_octal: 017
sexagesimal: 1:30
underscored: 1_000
float: 1.5e3
dot_float: .5
inf: .inf
minus_inf: -.Inf
not_a_number: .NaN
tilde: ~
null_word: Null
empty:
yes_word: yes
no_word: No
on_word: on
off_word: OFF
true_word: True
date: 2001-12-14
timestamp: 2001-12-14t21:59:43.10-05:00
spaced_timestamp: 2001-12-14 21:59:43.10 -5
quoted: "quoted 123"
single: '0x1f'
quoted_number: "12"
explicit_str: !!str 12
explicit_int: !!int "0x1f"
explicit_float: !!float "3"
equals: a = b
plus: +12
minus_zero: -0
version: 1.2.3
multi: |
  line one
  line two
folded: >
  folded
  text
plain_multi: first
  second
unicode: "caf\\u00e9 \\U0001F600"
list: [1, two, 3.0, null, true, 2002-01-01]
nested: {a: [{b: {c: [~, '', ""]}}]}
3: integer key
2.5: float key
true: bool key
~: null key
2001-01-01: date key
"""


def same(a: Any, b: Any) -> bool:
    """Equal, of the same types all the way down, keys in the same order (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(k, j) and same(a[k], b[j]) for k, j in zip(a, b, strict=True))
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def reference(text: str) -> Any:
    # What murano-sim read before the lean builder: libyaml's parser and SafeConstructor, no memo (the
    # pure-Python parser differs on some flow scalars, e.g. `{path: /a?b=c}`, which is not the subject).
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def plain(text: str) -> Any:
    """plain_data itself on the composed graph (not through load_document, which might fall back)."""
    parser = yamlfile.SafeLoader(text)
    try:
        node = parser.get_single_node()
        return None if node is None else yamlfile.plain_data(node, parser)
    finally:
        parser.dispose()


def test_the_corpus_is_the_projects_yaml():
    assert len(CORPUS) >= 40 and any(p.name.endswith(".murano.yaml") for p in CORPUS)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_yaml_file_reads_as_safeloader_reads_it(path: Path):
    text = path.read_text(encoding="utf-8")
    try:
        expected = reference(text)
    except yaml.YAMLError:
        with pytest.raises(yamlfile.YamlFileError):
            yamlfile.parse(text, str(path))
        return
    assert same(yamlfile.parse(text, str(path)), expected)
    built = plain(text)
    if "&" not in text and "<<" not in text and "!" not in text:  # a plain document: the lean builder's own
        assert built is not yamlfile._NOT_PLAIN and same(built, expected)


def test_tricky_scalars_mean_what_safeloader_makes_them():
    expected = reference(TRICKY)
    built = plain(TRICKY)
    assert built is not yamlfile._NOT_PLAIN  # the lean builder did it, not the fallback
    assert same(built, expected) and same(yamlfile.parse(TRICKY, "t.yaml"), expected)
    # The reference's own reading, so that `same` cannot pass on two equal mistakes.
    assert (built["hex"], built["underscored"], built["sexagesimal"], built["old_octal"]) == (31, 1000, 90, 15)
    assert built["inf"] == math.inf and math.isnan(built["not_a_number"]) and built["tilde"] is None
    assert (built["yes_word"], built["no_word"], built["on_word"]) == (True, False, True)
    assert built["date"] == datetime.date(2001, 12, 14) and isinstance(built["timestamp"], datetime.datetime)
    assert (built["single"], built["quoted_number"]) == ("0x1f", "12")
    assert (built["explicit_str"], built["explicit_int"]) == ("12", 31)
    assert built["plain_multi"] == "first second" and built["multi"] == "line one\nline two\n"
    assert built[3] == "integer key" and built[True] == "bool key" and built[None] == "null key"
    assert built[datetime.date(2001, 1, 1)] == "date key"


@pytest.mark.parametrize("text", [
    "base: &b {x: 1}\ncopy: *b\nmerged: {<<: *b, y: 2}\n",  # anchors and a merge key
    "merged: {<<: {x: 1}, y: 2}\n",  # a merge key without an anchor
    "s: !!set {a, b}\n",
    "b: !!binary aGVsbG8=\n",
    "o: !!omap [{a: 1}, {b: 2}]\n",
    "p: !!pairs [{a: 1}, {a: 2}]\n",
    "=: value key\n",
])
def test_documents_beyond_the_plain_tags_are_safeconstructors(text: str):
    assert same(yamlfile.parse(text, "t.yaml"), reference(text))


def test_the_lean_builder_declines_what_it_does_not_build():
    for text in ("m: {<<: {x: 1}}\n", "s: !!set {a}\n", "x: !custom 1\n", "? [a, b]\n: unhashable key\n"):
        assert plain(text) is yamlfile._NOT_PLAIN, text


def test_errors_are_safeconstructors_too():
    text = "ok: 1\n? [a, b]\n: unhashable key\n"
    with pytest.raises(yaml.YAMLError) as expected:
        reference(text)
    with pytest.raises(yamlfile.YamlFileError) as got:
        yamlfile.parse(text, "t.yaml")
    assert got.value.location == f"t.yaml:{expected.value.problem_mark.line + 1}"  # type: ignore[attr-defined]
    assert got.value.problem == expected.value.problem  # type: ignore[attr-defined]
    with pytest.raises(yamlfile.YamlFileError, match=r"t.yaml:1: could not determine a constructor"):
        yamlfile.parse("x: !custom 1\n", "t.yaml")


def test_deep_nesting_is_built_as_safeconstructor_builds_it():
    depth = 990  # libyaml's own limit is 1000; the lean builder may run out of stack first and fall back
    text = "[" * depth + "]" * depth
    data = yamlfile.parse(text, "deep.yaml")
    for _ in range(depth - 1):
        assert isinstance(data, list) and len(data) == 1
        data = data[0]
    assert data == []


def test_remembered_tags_follow_the_scalar_and_its_quoting():
    for _ in range(2):  # the second reading answers from the memo
        data = yamlfile.parse("a: 12\nb: '12'\nc: yes\nd: 'yes'\n", "t.yaml")
        assert data == {"a": 12, "b": "12", "c": True, "d": "yes"}
    long_value = "1" * (yamlfile._MEMO_LENGTH + 1)
    assert yamlfile.parse(f"n: {long_value}\n", "t.yaml") == {"n": int(long_value)}
