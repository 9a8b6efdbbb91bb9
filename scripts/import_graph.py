#!/usr/bin/env python3
"""The package read as a house: modules are files, folders are rooms, imports are arrows.

    python3 import_graph.py path/to/murano_sim [--exclude-twilio-place DIR ...] [--no-typing]

Standalone (stdlib only). `analyse(package_dir)` returns the data; `main()` prints it. Meant to
become tests/test_architecture.py later, e.g.:

    report = analyse(Path(murano_sim.__file__).parent)
    assert report.file_cycles == []
    assert report.back_arrows == []
    assert report.local_imports_in_package == []   # or an allow-list of lazy optional deps

Definitions
- An import is `top` (module level), `typing` (under `if TYPE_CHECKING:`) or `local` (inside a
  function or method). All three are arrows: a function-local import that closes a circle still
  closes it, it only hides it from Python's import machinery.
- A room is a sub-package folder (`murano_sim/services/`, ...; a nested folder is its own room);
  a loose module at the package's top level is a room of its own (`config`, `runtime`, ...), and
  the package's `__init__.py` is the room `(package)`.
- Room circles are the strongly connected components (> 1 room) of the room graph.
- Floors: inside each room circle, the arrows with the least weight (number of import
  statements) that make it acyclic are called back arrows (exact search for small circles,
  a greedy order otherwise); on what remains, a room's floor is 0 if it imports no other room,
  else 1 + the highest floor it imports. A back arrow is any arrow from a room to a room on
  the same or a higher floor.
"""

from __future__ import annotations

import argparse
import ast
import itertools
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_ROOM = "(package)"


@dataclass(frozen=True)
class Import:
    source: str  # importing module, dotted (murano_sim.config)
    target: str  # imported module inside the package, dotted
    line: int
    kind: str  # "top" | "typing" | "local"
    names: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


@dataclass
class Report:
    package: str
    modules: dict[str, Path]
    imports: list[Import]
    file_cycles: list[list[str]]
    rooms: dict[str, list[str]]  # room -> modules
    room_arrows: dict[tuple[str, str], list[Import]]
    room_cycles: list[list[str]]
    floors: dict[str, int]
    back_arrows: list[tuple[str, str]]
    local_imports_in_package: list[Import]
    local_imports_total: int  # including stdlib/third party
    twilio_files: dict[str, int] = field(default_factory=dict)  # path -> lines mentioning twilio


# ---------------------------------------------------------------- parsing

def module_name(package_dir: Path, path: Path) -> str:
    rel = path.relative_to(package_dir.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def find_modules(package_dir: Path) -> dict[str, Path]:
    return {module_name(package_dir, p): p for p in sorted(package_dir.rglob("*.py"))
            if "__pycache__" not in p.parts}


class _Collector(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool, modules: dict[str, Path]):
        self.module = module
        self.is_package = is_package
        self.modules = modules
        self.depth = 0  # function nesting
        self.typing = 0  # inside `if TYPE_CHECKING:`
        self.found: list[Import] = []
        self.local_total = 0

    def _kind(self) -> str:
        return "local" if self.depth else ("typing" if self.typing else "top")

    def visit_FunctionDef(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_Lambda = visit_FunctionDef

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        is_tc = (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
        if is_tc:
            self.typing += 1
            for child in node.body:
                self.visit(child)
            self.typing -= 1
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def _inside(self, dotted: str) -> str | None:
        """The deepest module of the package that `dotted` names, or None."""
        parts = dotted.split(".")
        while parts:
            name = ".".join(parts)
            if name in self.modules:
                return name
            parts.pop()
        return None

    def _add(self, target: str | None, line: int, names: tuple[str, ...] = ()) -> None:
        if target and target != self.module:
            self.found.append(Import(self.module, target, line, self._kind(), names))

    def visit_Import(self, node: ast.Import) -> None:
        if self.depth:
            self.local_total += 1
        for alias in node.names:
            self._add(self._inside(alias.name), node.lineno, (alias.name,))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if self.depth:
            self.local_total += 1
        if node.level:
            base = self.module.split(".")
            if not self.is_package:
                base = base[:-1]
            base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
            dotted = ".".join(base + ([node.module] if node.module else []))
        else:
            dotted = node.module or ""
        targets: dict[str, list[str]] = defaultdict(list)
        for alias in node.names:
            sub = f"{dotted}.{alias.name}"
            target = sub if sub in self.modules else self._inside(dotted)
            if target:
                targets[target].append(alias.name)
        for target, names in targets.items():
            self._add(target, node.lineno, tuple(names))


def collect_imports(modules: dict[str, Path]) -> tuple[list[Import], int]:
    imports: list[Import] = []
    local_total = 0
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        collector = _Collector(name, path.name == "__init__.py", modules)
        collector.visit(tree)
        imports.extend(collector.found)
        local_total += collector.local_total
    return imports, local_total


# ---------------------------------------------------------------- graphs

def strongly_connected(nodes: list[str], edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan, iterative. Components in reverse topological order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    counter = itertools.count()
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = next(counter)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = next(counter)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                result.append(sorted(component))
    return result


def _is_acyclic(nodes: list[str], edges: set[tuple[str, str]]) -> bool:
    adj: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        adj[a].add(b)
    return all(len(c) == 1 for c in strongly_connected(nodes, adj))


def cheapest_cut(nodes: list[str], weights: dict[tuple[str, str], int]) -> set[tuple[str, str]]:
    """Arrows of least total weight whose removal leaves `nodes` acyclic."""
    arrows = sorted(weights, key=lambda e: (weights[e], e))
    if len(arrows) <= 18:  # exact: smallest sets first, lightest first
        best: tuple[int, set[tuple[str, str]]] | None = None
        for size in range(1, len(arrows) + 1):
            for cut in itertools.combinations(arrows, size):
                cost = sum(weights[e] for e in cut)
                if best and cost >= best[0]:
                    continue
                if _is_acyclic(nodes, set(arrows) - set(cut)):
                    best = (cost, set(cut))
            if best and size >= 3:  # exact up to 3 arrows: heavier sets of more arrows rarely win
                break
        if best:
            return best[1]
    # greedy (Eades-Lin-Smyth) order: sinks last, sources first, else best out-in
    remaining = set(nodes)
    left: list[str] = []
    right: list[str] = []
    while remaining:
        def w_out(n: str, remaining: set[str] = remaining) -> int:
            return sum(w for (a, b), w in weights.items() if a == n and b in remaining and b != n)

        def w_in(n: str, remaining: set[str] = remaining) -> int:
            return sum(w for (a, b), w in weights.items() if b == n and a in remaining and a != n)
        sinks = [n for n in sorted(remaining) if w_out(n) == 0]
        if sinks:
            right[:0] = sinks
            remaining -= set(sinks)
            continue
        sources = [n for n in sorted(remaining) if w_in(n) == 0]
        if sources:
            left.extend(sources)
            remaining -= set(sources)
            continue
        pick = max(sorted(remaining), key=lambda n: w_out(n) - w_in(n))
        left.append(pick)
        remaining.discard(pick)
    order = {n: i for i, n in enumerate(left + right)}
    return {(a, b) for (a, b) in weights if order[a] > order[b]}


def room_of(module: str, package: str, modules: dict[str, Path]) -> str:
    if module == package:
        return PACKAGE_ROOM
    parts = module.split(".")[1:]
    path = modules[module]
    if path.name == "__init__.py":
        return "/".join(parts) + "/"
    if len(parts) == 1:
        return parts[0]  # a loose top-level module is its own room
    return "/".join(parts[:-1]) + "/"


def analyse(package_dir: Path | str, *, include_typing: bool = True,
            twilio_place: tuple[str, ...] = ("emulator", "services/twilio")) -> Report:
    package_dir = Path(package_dir).resolve()
    package = package_dir.name
    modules = find_modules(package_dir)
    imports, local_total = collect_imports(modules)
    arrows = [i for i in imports if include_typing or i.kind != "typing"]

    # files
    file_edges: dict[str, set[str]] = defaultdict(set)
    for imp in arrows:
        file_edges[imp.source].add(imp.target)
    file_cycles = [c for c in strongly_connected(sorted(modules), file_edges) if len(c) > 1]

    # rooms
    rooms: dict[str, list[str]] = defaultdict(list)
    for m in modules:
        rooms[room_of(m, package, modules)].append(m)
    room_arrows: dict[tuple[str, str], list[Import]] = defaultdict(list)
    for imp in arrows:
        a, b = room_of(imp.source, package, modules), room_of(imp.target, package, modules)
        if a != b:
            room_arrows[(a, b)].append(imp)
    room_edges: dict[str, set[str]] = defaultdict(set)
    for a, b in room_arrows:
        room_edges[a].add(b)
    room_nodes = sorted(rooms)
    components = strongly_connected(room_nodes, room_edges)
    room_cycles = [c for c in components if len(c) > 1]

    cut: set[tuple[str, str]] = set()
    for comp in room_cycles:
        members = set(comp)
        weights = {e: len(v) for e, v in room_arrows.items() if e[0] in members and e[1] in members}
        cut |= cheapest_cut(comp, weights)
    dag: dict[str, set[str]] = defaultdict(set)
    for (a, b) in room_arrows:
        if (a, b) not in cut:
            dag[a].add(b)
    floors: dict[str, int] = {}

    def floor(n: str, seen: tuple[str, ...] = ()) -> int:
        if n not in floors:
            floors[n] = 1 + max((floor(m, seen + (n,)) for m in dag[n]), default=-1)
        return floors[n]
    for n in room_nodes:
        floor(n)
    back = sorted(e for e in room_arrows if floors[e[0]] <= floors[e[1]])

    # twilio outside its own place
    twilio: dict[str, int] = {}
    for path in modules.values():
        rel = path.relative_to(package_dir).as_posix()
        if any(rel.startswith(p.rstrip("/") + "/") for p in twilio_place):
            continue
        count = sum(1 for line in path.read_text(encoding="utf-8").splitlines() if "twilio" in line.lower())
        if count:
            twilio[f"{package}/{rel}"] = count

    return Report(
        package=package, modules=modules, imports=imports, file_cycles=file_cycles,
        rooms=dict(rooms), room_arrows=dict(room_arrows), room_cycles=room_cycles, floors=floors,
        back_arrows=back,
        local_imports_in_package=[i for i in imports if i.kind == "local"],
        local_imports_total=local_total, twilio_files=twilio,
    )


# ---------------------------------------------------------------- printing

def _short(module: str, package: str) -> str:
    return module[len(package) + 1:] if module.startswith(package + ".") else module


def _cycle_path(members: list[str], edges: dict[str, set[str]]) -> list[str]:
    """One closed walk through a strongly connected component (for reading, not exhaustive)."""
    members_set = set(members)
    start = members[0]
    # BFS shortest cycle through start
    from collections import deque
    prev: dict[str, str] = {}
    queue = deque([start])
    seen = {start}
    while queue:
        node = queue.popleft()
        for nxt in sorted(edges.get(node, ())):
            if nxt not in members_set:
                continue
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if nxt not in seen:
                seen.add(nxt)
                prev[nxt] = node
                queue.append(nxt)
    return members


def render(report: Report) -> str:
    pkg = report.package
    out: list[str] = []
    kinds = defaultdict(int)
    for i in report.imports:
        kinds[i.kind] += 1
    out.append(f"# {pkg}: {len(report.modules)} modules, {len(report.imports)} intra-package imports "
               f"({kinds['top']} module-level, {kinds['typing']} under TYPE_CHECKING, {kinds['local']} function-local)")

    out.append(f"\n## File-level import cycles: {len(report.file_cycles)}")
    file_edges: dict[str, set[str]] = defaultdict(set)
    for imp in report.imports:
        file_edges[imp.source].add(imp.target)
    for n, comp in enumerate(report.file_cycles, 1):
        out.append(f"cycle {n} ({len(comp)} files): " + ", ".join(_short(m, pkg) for m in comp))
        out.append("  e.g. " + " -> ".join(_short(m, pkg) for m in _cycle_path(comp, file_edges)))
        members = set(comp)
        inner = [i for i in report.imports if i.source in members and i.target in members]
        for i in sorted(inner, key=lambda i: (i.source, i.line)):
            out.append(f"    {_short(i.source, pkg)}:{i.line} -> {_short(i.target, pkg)} [{i.kind}]"
                       f" {', '.join(i.names)}")

    nrooms = len(report.rooms)
    nfloors = 1 + max(report.floors.values(), default=-1)
    out.append(f"\n## Rooms: {nrooms} rooms on {nfloors} floors, {len(report.room_arrows)} arrows")
    by_floor: dict[int, list[str]] = defaultdict(list)
    for room, fl in report.floors.items():
        by_floor[fl].append(room)
    for fl in sorted(by_floor, reverse=True):
        rooms = []
        for r in sorted(by_floor[fl]):
            downs = sorted(b for (a, b) in report.room_arrows if a == r)
            rooms.append(f"{r} ({len(report.rooms[r])} files) -> {', '.join(downs) or '-'}")
        out.append(f"floor {fl}:")
        out.extend("  " + r for r in rooms)

    out.append(f"\n## Room-level cycles: {len(report.room_cycles)}")
    for comp in report.room_cycles:
        out.append("  " + " <-> ".join(comp))

    out.append(f"\n## Arrows that run back up a floor (or close a room cycle): {len(report.back_arrows)}")
    for a, b in report.back_arrows:
        imps = report.room_arrows[(a, b)]
        out.append(f"  {a} (floor {report.floors[a]}) -> {b} (floor {report.floors[b]}): {len(imps)} import(s)")
        for i in imps:
            out.append(f"    {_short(i.source, pkg)}:{i.line} -> {_short(i.target, pkg)} [{i.kind}]"
                       f" {', '.join(i.names)}")

    locs = report.local_imports_in_package
    out.append(f"\n## Function-local imports: {len(locs)} of package modules "
               f"({report.local_imports_total} function-local import statements in all, incl. stdlib/third party)")
    per_file: dict[str, int] = defaultdict(int)
    for i in locs:
        per_file[_short(i.source, pkg)] += 1
    out.append("  " + ", ".join(f"{k} {v}" for k, v in sorted(per_file.items(), key=lambda kv: (-kv[1], kv[0]))))

    tw = report.twilio_files
    out.append(f"\n## 'twilio' outside the Twilio service's place: {sum(tw.values())} lines in {len(tw)} files")
    for path, count in sorted(tw.items(), key=lambda kv: (-kv[1], kv[0])):
        out.append(f"  {count:4d}  {path}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package_dir", type=Path)
    parser.add_argument("--no-typing", action="store_true", help="ignore imports under `if TYPE_CHECKING:`")
    parser.add_argument("--twilio-place", action="append", default=None,
                        help="folder (relative to the package) that is Twilio's own place; repeatable "
                             "(default: emulator and services/twilio)")
    args = parser.parse_args(argv)
    if not (args.package_dir / "__init__.py").is_file():
        print(f"{args.package_dir}: not a package (no __init__.py)", file=sys.stderr)
        return 2
    place = tuple(args.twilio_place) if args.twilio_place else ("emulator", "services/twilio")
    report = analyse(args.package_dir, include_typing=not args.no_typing, twilio_place=place)
    print(render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
