"""The emulator's clocks are the solution's clocks (one clock per solution)."""

from ..clock import Clock, ManualClock, OffsetClock, SystemClock

__all__ = ["Clock", "ManualClock", "OffsetClock", "SystemClock"]
