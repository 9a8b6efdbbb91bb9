"""Coverage reports: a terminal table, LCOV and Cobertura XML (the formats CI services read)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree


@dataclass(frozen=True)
class FileReport:
    """One solution file: its path relative to the report's root, and executable line -> hits."""

    path: str
    hits: dict[int, int]

    @property
    def lines(self) -> int:
        return len(self.hits)

    @property
    def hit(self) -> int:
        return sum(1 for n in self.hits.values() if n)

    @property
    def missing(self) -> list[int]:
        return sorted(line for line, n in self.hits.items() if not n)


def percent(hit: int, lines: int) -> str:
    return f"{100 * hit / lines:.0f}%" if lines else "100%"


def missing_ranges(report: FileReport) -> str:
    """Missed lines as ranges ("4-6, 9"); a range spans lines without code between missed ones."""
    executable = sorted(report.hits)
    ranges: list[tuple[int, int]] = []
    for index, line in enumerate(executable):
        if report.hits[line]:
            continue
        if ranges and not any(report.hits[n] for n in executable[executable.index(ranges[-1][1]):index]):
            ranges[-1] = (ranges[-1][0], line)
        else:
            ranges.append((line, line))
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def term(reports: Sequence[FileReport]) -> list[str]:
    """The table pytest prints: file, lines, hit, %, missing ranges, then the total."""
    rows = [(r.path, str(r.lines), str(r.hit), percent(r.hit, r.lines), missing_ranges(r)) for r in reports]
    lines, hit = sum(r.lines for r in reports), sum(r.hit for r in reports)
    header = ("File", "Lines", "Hit", "Cover", "Missing")
    total = ("TOTAL", str(lines), str(hit), percent(hit, lines), "")
    width = [max(len(row[i]) for row in [header, *rows, total]) for i in range(4)]

    def line(row: tuple[str, ...]) -> str:
        return (f"{row[0]:<{width[0]}}  {row[1]:>{width[1]}}  {row[2]:>{width[2]}}  {row[3]:>{width[3]}}  "
                f"{row[4]}").rstrip()

    rule = "-" * len(line(header))
    return [line(header), rule, *(line(row) for row in rows), rule, line(total)]


def lcov(reports: Sequence[FileReport]) -> str:
    """LCOV tracefile: one SF ... end_of_record per file (geninfo(1)'s line records)."""
    out = ["TN:"]
    for report in reports:
        out.append(f"SF:{report.path}")
        out.extend(f"DA:{line},{report.hits[line]}" for line in sorted(report.hits))
        out += [f"LF:{report.lines}", f"LH:{report.hit}", "end_of_record", "TN:"]
    return "\n".join(out[:-1]) + "\n"


def _rate(hit: int, lines: int) -> str:
    return f"{hit / lines:.4g}" if lines else "1"


def cobertura(reports: Sequence[FileReport], source: Path) -> str:
    """Cobertura XML (coverage-04.dtd): one package per folder, one class per file; no branches."""
    lines, hit = sum(r.lines for r in reports), sum(r.hit for r in reports)
    root = ElementTree.Element("coverage", {
        "line-rate": _rate(hit, lines), "branch-rate": "0", "lines-covered": str(hit), "lines-valid": str(lines),
        "branches-covered": "0", "branches-valid": "0", "complexity": "0",
        "version": "murano-sim", "timestamp": str(int(time.time() * 1000)),
    })
    ElementTree.SubElement(ElementTree.SubElement(root, "sources"), "source").text = str(source)
    packages = ElementTree.SubElement(root, "packages")
    by_folder: dict[str, list[FileReport]] = {}
    for report in reports:
        by_folder.setdefault(report.path.rpartition("/")[0] or ".", []).append(report)
    for folder, members in sorted(by_folder.items()):
        p_lines, p_hit = sum(r.lines for r in members), sum(r.hit for r in members)
        package = ElementTree.SubElement(packages, "package", {
            "name": folder.replace("/", "."), "line-rate": _rate(p_hit, p_lines), "branch-rate": "0",
            "complexity": "0",
        })
        classes = ElementTree.SubElement(package, "classes")
        for report in members:
            cls = ElementTree.SubElement(classes, "class", {
                "name": report.path.rpartition("/")[2], "filename": report.path,
                "line-rate": _rate(report.hit, report.lines), "branch-rate": "0", "complexity": "0",
            })
            ElementTree.SubElement(cls, "methods")
            rows = ElementTree.SubElement(cls, "lines")
            for number in sorted(report.hits):
                ElementTree.SubElement(rows, "line", {"number": str(number), "hits": str(report.hits[number]),
                                                      "branch": "false"})
    ElementTree.indent(root)
    doctype = '<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd">'
    return f'<?xml version="1.0" ?>\n{doctype}\n{ElementTree.tostring(root, encoding="unicode")}\n'
