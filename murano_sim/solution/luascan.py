"""A Lua tokenizer-lite for what the loader needs to know without running a script.

It skips comments and strings correctly (long brackets included), which is all that the
questions below need: does a module end with a top-level `return`, which modules does a file
`require` by a constant name, and which global tables does it call like services.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

_TOKEN = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<longcomment>--\[(?P<ceq>=*)\[.*?\](?P=ceq)\])
    | (?P<comment>--[^\n]*)
    | (?P<longstring>\[(?P<seq>=*)\[.*?\](?P=seq)\])
    | (?P<string>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')
    | (?P<number>0[xX][0-9a-fA-F]+|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>\.\.\.|\.\.|==|~=|<=|>=|::|.)
    """,
    re.VERBOSE | re.DOTALL,
)
_OPENERS = frozenset({"function", "do", "if", "repeat"})  # `while`/`for` open their block with `do`
_CLOSERS = frozenset({"end", "until"})
_KEYWORDS = _OPENERS | _CLOSERS | frozenset({
    "and", "break", "else", "elseif", "false", "for", "goto", "in", "local", "nil", "not", "or",
    "return", "then", "true", "while",
})


class Token(NamedTuple):
    kind: str  # name | string | number | op
    text: str  # for strings: the contents without quotes or brackets (escapes left as written)
    line: int


def tokens(source: str) -> Iterator[Token]:
    """The tokens of `source`, comments and white space left out."""
    line, pos = 1, 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        assert match is not None  # the last alternative matches any character
        kind, text = match.lastgroup or "op", match.group()
        if kind == "string":
            yield Token("string", text[1:-1], line)
        elif kind == "longstring":
            width = len(match.group("seq") or "") + 2
            yield Token("string", text[width:-width], line)
        elif kind in ("name", "number", "op"):
            yield Token(kind, text, line)
        line += text.count("\n")
        pos = match.end()


def has_top_level_return(source: str) -> bool:
    """Whether the chunk ends with its own `return` (a module), not one inside a block."""
    depth = 0
    for token in tokens(source):
        if token.kind != "name":
            continue
        if token.text in _OPENERS:
            depth += 1
        elif token.text in _CLOSERS:
            depth -= 1
        elif token.text == "return" and depth == 0:
            return True  # Lua allows `return` only as a block's last statement
    return False


def top_level_locals(source: str) -> list[str]:
    """The names a chunk declares `local` outside every block (`local function f`, `local a, b = ...`),
    in order, without repeats."""
    found: list[str] = []
    depth = 0
    toks = list(tokens(source))
    for i, token in enumerate(toks):
        if token.kind != "name":
            continue
        if token.text in _OPENERS:
            depth += 1
        elif token.text in _CLOSERS:
            depth -= 1
        elif token.text == "local" and depth == 0 and not _is_field(toks, i):
            j = i + 1
            if j < len(toks) and toks[j].text == "function":
                j += 1
            while j < len(toks) and toks[j].kind == "name" and toks[j].text not in _KEYWORDS:
                if toks[j].text not in found:
                    found.append(toks[j].text)
                if j + 1 < len(toks) and toks[j + 1].text == ",":
                    j += 2
                    continue
                break
    return found


def static_requires(source: str) -> list[tuple[str, int]]:
    """(module name, line) for each `require("name")` / `require "name"` with a constant name."""
    found = []
    toks = list(tokens(source))
    for i, token in enumerate(toks):
        if token.kind != "name" or token.text != "require" or _is_field(toks, i):
            continue
        j = i + 1
        if j < len(toks) and toks[j].text == "(" and toks[j].kind == "op":
            j += 1
        if j < len(toks) and toks[j].kind == "string":
            found.append((toks[j].text, token.line))
    return found


def service_uses(source: str) -> tuple[set[str], set[str]]:
    """(names used as services, capitalised names the source assigns or declares).

    A service use is `Name.op(`, `Name.op{`, `Name.op"..."`, `murano.services.alias`,
    `murano.services["alias"]` or `murano.service_call("alias", ...)`.
    """
    used: set[str] = set()
    defined: set[str] = set()
    toks = list(tokens(source))

    def at(i: int) -> Token | None:
        return toks[i] if 0 <= i < len(toks) else None

    for i, token in enumerate(toks):
        if token.kind != "name" or token.text in _KEYWORDS or _is_field(toks, i):
            continue
        after, before = at(i + 1), at(i - 1)
        if token.text == "murano" and after and after.text == ".":
            member, nxt = at(i + 2), at(i + 3)
            if member and member.text == "services" and nxt:
                alias = at(i + 4) if nxt.text in (".", "[") else None
                if alias and alias.kind in (("name",) if nxt.text == "." else ("string",)):
                    used.add(alias.text)
            elif member and member.text == "service_call" and nxt and nxt.text == "(":
                alias = at(i + 4)
                if alias and alias.kind == "string":
                    used.add(alias.text)
            continue
        if not token.text[:1].isupper():
            continue
        if (before and before.kind == "name" and before.text in ("local", "function")) or (
            after and after.kind == "op" and after.text == "="
        ):
            defined.add(token.text)
            continue
        op, call = at(i + 2), at(i + 3)
        if after and after.text == "." and op and op.kind == "name" and call and (
            call.kind == "string" or call.text in ("(", "{")
        ):
            used.add(token.text)
    return used, defined


def _is_field(toks: list[Token], i: int) -> bool:
    """Whether toks[i] follows `.` or `:` (a field or method name, not a variable)."""
    return i > 0 and toks[i - 1].kind == "op" and toks[i - 1].text in (".", ":")
