"""The developer console in the browser, served by `murano-sim serve` at /_murano-sim/."""

from .console import Console

__all__ = ["Console"]
