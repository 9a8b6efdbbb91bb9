"""murano-sim: run Exosite Murano Lua scripts locally, sandboxed, with a local Twilio."""

from .config import Config, load_config
from .errors import ConfigError, MuranoSimError, UsageError
from .result import Response, ScriptResult
from .runtime import Runtime

__version__ = "0.1.0"

__all__ = [
    "Config",
    "ConfigError",
    "MuranoSimError",
    "Response",
    "Runtime",
    "ScriptResult",
    "UsageError",
    "__version__",
    "load_config",
]
