"""The loader's problems as `serve` prints them: one line each, with file:line, at start and at each reload."""

from __future__ import annotations

from .model import Solution
from .requestlog import SolutionLog


def report_problems(log: SolutionLog, solution: Solution) -> None:
    """Every warning and error of the load, one log line each (`check` lists the same lines)."""
    for warning in solution.warnings:
        log.message(f"warning: {warning}", warning=warning)
    for error in solution.errors:
        log.message(f"error: {error} (a run of it answers 500 until the file is fixed)", error=error)
