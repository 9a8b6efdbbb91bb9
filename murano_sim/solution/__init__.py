"""A whole Murano solution run locally: endpoints, modules, event handlers, served over HTTP."""

from ..services.twilio.inbound import deliver_inbound_sms, main_inbound
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
    "deliver_inbound_sms",
    "load_solution",
    "main_inbound",
    "main_serve",
    "serve_solution",
]
