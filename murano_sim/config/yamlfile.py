"""Every YAML file murano-sim reads is read here, bounded: a size cap, and aliases that may neither
expand beyond a small number of nodes (a "billion laughs" document) nor refer to themselves.

A composed document keeps an alias as a second reference to its anchor's node, so composing and
constructing are linear in the text; the blow-up would come later, in whatever walks the data
(${VAR} expansion, deep copies, JSON). The composed node graph is therefore measured before
anything is built from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError

MAX_BYTES = 10 * 1024 * 1024  # the largest YAML file read (cassettes are the big ones)
MAX_ALIAS_NODES = 100_000  # nodes that aliases may add to a document, all aliases together

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MEMO_SIZE, _MEMO_LENGTH = 4096, 64  # tags remembered, and the longest scalar remembered (memory stays small)


class _MemoLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """SafeLoader whose tag resolution (regular expressions in Python, for every node) is remembered per
    (kind, value, implicit): the same keys and values recur in every case of a file, file after file."""

    _tags: dict[tuple[Any, Any, Any], str] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        key = (kind, value, implicit)
        tag = self._tags.get(key)
        if tag is None:
            tag = super().resolve(kind, value, implicit)
            if len(self._tags) < _MEMO_SIZE and (value is None or len(value) <= _MEMO_LENGTH):
                self._tags[key] = tag
        return tag


# libyaml's parser when present: case files are parsed at every collection, 500 cases and more.
SafeLoader: Any = _MemoLoader


class YamlFileError(ConfigError):
    """A YAML file that cannot be read, is not YAML, or is refused; `location` is file[:line]."""

    def __init__(self, where: str, line: int | None, problem: str) -> None:
        self.location = f"{where}:{line}" if line else where
        self.line, self.problem = line, problem
        super().__init__(f"{self.location}: {problem}")


def read_text(path: str | Path, where: str | None = None, max_bytes: int = MAX_BYTES, what: str = "file") -> str:
    """A YAML file's text; never more than max_bytes are read (a FIFO or /dev/zero included).
    `what` names the file in an error (`cannot read config file`)."""
    where = str(path) if where is None else where
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise YamlFileError(where, None, f"cannot read {what} ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise YamlFileError(where, None, f"larger than {_size(max_bytes)}; refused")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise YamlFileError(where, None, "not UTF-8 text") from None


def load_document(text: str, where: str, loader: Any = SafeLoader) -> tuple[yaml.Node | None, Any]:
    """The composed node (None for an empty document) and the data built from it."""
    if len(text) > MAX_BYTES:
        raise YamlFileError(where, None, f"larger than {_size(MAX_BYTES)}; refused")
    parser = loader(text)
    try:
        node = parser.get_single_node()
        if node is None:
            return None, None
        if "&" in text:  # no anchor, no alias: nothing to measure (most files; case files at every collection)
            _check_expansion(node, where)  # and aliases share one object: SafeConstructor's way, below
        elif loader is SafeLoader:
            data = plain_data(node, parser)
            if data is not _NOT_PLAIN:
                return node, data
        return node, parser.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = str(getattr(exc, "problem", None) or exc).strip() or "invalid YAML"
        if mark and _tab_at(text, mark.line, mark.column):
            problem += " (a tab: YAML indents with spaces only)"
        raise YamlFileError(where, mark.line + 1 if mark else None, problem) from None
    except RecursionError:
        raise YamlFileError(where, None, "nested too deeply; refused") from None
    finally:
        parser.dispose()


_NOT_PLAIN: Any = object()  # plain_data's answer for a node graph it leaves to SafeConstructor
_STR, _SEQ, _MAP = "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"
# The scalar tags SafeLoader's resolver gives plain scalars, each built by SafeConstructor's own method
# (so 0x1f, 1_000, .inf, yes/no and timestamps mean what they always meant); any other tag falls back.
_SCALAR_METHODS = {
    "tag:yaml.org,2002:null": "construct_yaml_null", "tag:yaml.org,2002:bool": "construct_yaml_bool",
    "tag:yaml.org,2002:int": "construct_yaml_int", "tag:yaml.org,2002:float": "construct_yaml_float",
    "tag:yaml.org,2002:timestamp": "construct_yaml_timestamp",
}


class _NotPlain(Exception):
    """A node plain_data leaves to SafeConstructor."""


def plain_data(node: yaml.Node, constructor: Any) -> Any:
    """The data of a node graph without anchors that uses only the default tags (str, int, float, bool,
    null, timestamp, seq, map), built as SafeConstructor builds it, only without its per-node machinery
    (about half of reading a case file). Anything else (merge keys `<<`, `=`, !!set, !!binary, custom
    tags, unhashable keys, deep nesting) answers _NOT_PLAIN: construct_document then builds the whole
    document, errors included. `constructor` is the SafeLoader that composed the node."""
    methods = {tag: getattr(constructor, name) for tag, name in _SCALAR_METHODS.items()}

    def build(node: yaml.Node) -> Any:
        tag = node.tag
        if tag == _STR and isinstance(node, yaml.ScalarNode):
            return node.value
        if tag == _MAP and isinstance(node, yaml.MappingNode):
            out = {}
            for key_node, value_node in node.value:
                key = build(key_node)
                try:
                    out[key] = build(value_node)
                except TypeError:  # an unhashable key: SafeConstructor's own error names it
                    raise _NotPlain from None
            return out
        if tag == _SEQ and isinstance(node, yaml.SequenceNode):
            return [build(item) for item in node.value]
        method = methods.get(tag)
        if method is None or not isinstance(node, yaml.ScalarNode):
            raise _NotPlain
        return method(node)

    try:
        return build(node)
    except (_NotPlain, RecursionError):  # SafeConstructor builds deep nesting without recursion
        return _NOT_PLAIN


def _tab_at(text: str, line: int, column: int) -> bool:
    """Whether the parser stopped at a tab, the error whose own message does not say so."""
    lines = text.splitlines()
    return line < len(lines) and column < len(lines[line]) and lines[line][column] == "\t"


def parse(text: str, where: str, loader: Any = SafeLoader) -> Any:
    """The data of one YAML document (None when it is empty)."""
    return load_document(text, where, loader)[1]


def load(path: str | Path, where: str | None = None, loader: Any = SafeLoader, what: str = "file") -> Any:
    """Read and parse one YAML file; YamlFileError (a ConfigError) names the file and line."""
    where = str(path) if where is None else where
    return parse(read_text(path, where, what=what), where, loader)


def compose(text: str, where: str) -> yaml.Node | None:
    """The composed node graph only (for line numbers), bounded as load is."""
    return load_document(text, where)[0]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expansion(root: yaml.Node, where: str) -> None:
    """Refuse a document whose aliases add more than MAX_ALIAS_NODES nodes, or that contains itself.

    An alias is a second reference to an already composed node: walked depth first in document
    order, the first visit of a node is its anchor and every later one an alias, which adds the
    whole expanded size of that node. Iterative, so that deep nesting cannot exhaust the stack."""
    size: dict[int, int] = {}  # id(node) -> its size with every alias expanded
    open_nodes: set[int] = set()  # the nodes whose subtree is being walked (their ancestors' chain)
    added = 0
    stack: list[tuple[yaml.Node, yaml.Node, bool]] = [(root, root, False)]
    while stack:
        node, parent, done = stack.pop()
        key = id(node)
        if done:
            open_nodes.discard(key)
            size[key] = 1 + sum(size[id(child)] for child in _children(node))
            continue
        if key in open_nodes:
            raise YamlFileError(where, parent.start_mark.line + 1, "an alias refers to its own anchor; refused")
        if key in size:
            added += size[key]
            if added > MAX_ALIAS_NODES:
                raise YamlFileError(where, parent.start_mark.line + 1,
                                    f"YAML aliases expand to more than {MAX_ALIAS_NODES} nodes; refused")
            continue
        open_nodes.add(key)
        stack.append((node, parent, True))
        stack.extend((child, node, False) for child in reversed(_children(node)))


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit % (1024 * 1024) == 0 else f"{limit} bytes"
