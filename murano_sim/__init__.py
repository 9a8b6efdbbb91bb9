"""murano-sim: run Exosite Murano Lua scripts locally, sandboxed, with Murano's services run locally."""

from typing import TYPE_CHECKING

from .errors import ConfigError, MuranoSimError, UsageError

if TYPE_CHECKING:  # for type checkers; at run time each loads on first use (below)
    from .config import Config
    from .runtime import Runtime
    from .runtime.result import Response, ScriptResult
    from .services.settings import load_config

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # Runtime pulls in lupa, requests and every service: loaded on first use, not on import.
    if name == "Config":  # config pulls in yaml and jsonschema: not before a command needs them
        from .config import Config

        return Config
    if name in ("Response", "ScriptResult"):
        from .runtime import result

        return getattr(result, name)
    if name == "Runtime":
        from .runtime import Runtime

        return Runtime
    if name == "load_config":  # the loader that knows every service (config/ alone knows none)
        from .services.settings import load_config

        return load_config
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

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
