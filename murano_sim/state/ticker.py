"""The one background ticker: on a clock that moves by itself (serve), what becomes due runs.

Every due source (a model with next_due/run_due, a local backend such as Twilio's) is ticked by this
one thread. A source that also runs its due work inline, on a request, has a `ticking` attribute:
the ticker sets it while it owns that work, so a request never waits for a step the ticker runs.
A defect in one source is reported (on_defect) and the loop goes on with the others.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from .clock import DueSource

Defect = Callable[[DueSource, Exception], None]


class Ticker:
    """One thread calling run_due() of every source each interval."""

    def __init__(
        self, sources: Callable[[], Sequence[DueSource]], on_defect: Defect, *, interval: float = 0.2,
        name: str = "murano-sim-ticker",
    ) -> None:
        self._sources = sources
        self._on_defect = on_defect
        self.interval = interval
        self.name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._owned: list[DueSource] = []

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._owned = [s for s in self._sources() if hasattr(s, "ticking")]
        for source in self._owned:
            source.ticking = True  # type: ignore[attr-defined]  # checked by hasattr above
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def tick(self) -> None:
        """Run what is due in every source once; a defect in one is reported, the others still run."""
        for source in self._sources():
            try:
                source.run_due()
            except Exception as exc:  # the ticker must survive a defect in one source, and report it
                self._on_defect(source, exc)

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        for source in self._owned:
            source.ticking = False  # type: ignore[attr-defined]
        self._owned = []

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()
