"""What a script run returns: the response it built, its logs, its service calls, its error."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Response:
    code: int = 200
    message: Any = "Ok"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ScriptResult:
    response: Response
    logs: list[str] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    # A traceback when murano-sim itself failed during the run (a defect to report, not the
    # script's fault); the pytest plugin fails the test with it.
    internal_error: str | None = None
    error_at: str | None = None  # a limit error (instructions, memory, time): the file:line that was running

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape `murano-sim run` prints."""
        return {
            "response": asdict(self.response),
            "logs": list(self.logs),
            "calls": list(self.calls),
            "error": self.error,
            **({"error_at": self.error_at} if self.error_at else {}),
        }
