"""WSGIAdapter moved to murano_sim.services.executors (it mounts any service's local backend)."""

from ..executors import WSGIAdapter

__all__ = ["WSGIAdapter"]
