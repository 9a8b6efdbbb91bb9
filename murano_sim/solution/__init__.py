"""A whole Murano solution run locally: endpoints, modules, event handlers, served over HTTP."""

from .app import SolutionApp
from .loader import Endpoint, EventHandler, Solution, load_solution
from .requestlog import SolutionLog
from .server import SolutionServer, main_serve, serve_solution

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
