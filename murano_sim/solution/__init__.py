"""A whole Murano solution run locally: endpoints, modules, event handlers, served over HTTP."""

from importlib import import_module
from typing import Any

# Imported on first use: `murano-sim run` needs the loader, not the server (Werkzeug, websockets).
_EXPORTS = {
    "SolutionApp": ".app", "Endpoint": ".loader", "EventHandler": ".loader", "Solution": ".loader",
    "load_solution": ".loader", "SolutionLog": ".requestlog", "SolutionServer": ".server",
    "main_serve": ".server", "serve_solution": ".server",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name], __name__), name)


__all__ = [
    "Endpoint",
    "EventHandler",
    "Solution",
    "SolutionApp",
    "SolutionLog",
    "SolutionServer",
    "load_solution",
    "main_serve",
    "serve_solution",
]
