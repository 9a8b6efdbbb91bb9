"""The one ticker: every due source of a solution on one thread; a defect in one is reported and the rest go on."""

from __future__ import annotations

import threading
import time
from datetime import datetime

from murano_sim import Runtime
from murano_sim.state.ticker import Ticker

DEADLINE = 30.0  # generous: the machine may be loaded; nothing here measures time


class Source:
    def __init__(self, fail_first: bool = False) -> None:
        self.runs = 0
        self.fail_first = fail_first
        self.twice = threading.Event()

    def next_due(self) -> datetime | None:
        return None

    def run_due(self) -> None:
        self.runs += 1
        if self.runs >= 2:
            self.twice.set()
        if self.fail_first and self.runs == 1:
            raise RuntimeError("a defect in this source")


class Owned(Source):
    ticking = False


def test_a_defect_in_one_source_is_reported_and_the_loop_goes_on():
    broken, healthy = Source(fail_first=True), Source()
    defects: list[tuple[object, Exception]] = []
    ticker = Ticker(lambda: [broken, healthy], lambda source, exc: defects.append((source, exc)), interval=0.01)
    ticker.start()
    try:
        assert broken.twice.wait(DEADLINE) and healthy.twice.wait(DEADLINE)
    finally:
        ticker.stop()
    assert [(source, str(exc)) for source, exc in defects] == [(broken, "a defect in this source")]
    assert not ticker.running


def test_a_source_that_also_runs_inline_is_told_while_the_ticker_owns_its_work():
    owned, plain = Owned(), Source()
    ticker = Ticker(lambda: [owned, plain], lambda source, exc: None, interval=0.01)
    ticker.start()
    try:
        assert owned.ticking is True and not hasattr(plain, "ticking")
        assert owned.twice.wait(DEADLINE)
    finally:
        ticker.stop()
    assert owned.ticking is False


def test_services_tick_every_model_and_the_local_backend_with_one_thread():
    with Runtime({}) as runtime:
        services = runtime.services
        backend = services.backends["twilio"]
        assert backend in services.due_sources()  # no special case: a local backend is a due source
        before = set(threading.enumerate())
        services.start_ticker(interval=0.01)
        assert backend.ticking is True  # API requests leave due steps to the ticker
        assert [t.name for t in set(threading.enumerate()) - before] == ["murano-sim-services-ticker"]
    assert backend.ticking is False


def test_a_defect_in_a_backend_is_kept_by_the_backend(monkeypatch):
    with Runtime({}) as runtime:
        backend = runtime.services.backends["twilio"]

        def broken() -> None:  # a defect injected into one step
            raise RuntimeError("broken step")

        monkeypatch.setattr(backend, "run_due", broken)
        runtime.services.start_ticker(interval=0.01)
        deadline = time.monotonic() + DEADLINE
        defects: list[Exception] = []
        while not defects and time.monotonic() < deadline:
            defects = backend.take_defects()  # what the pytest plugin fails the running test with
            time.sleep(0.01)
        assert [str(exc) for exc in defects][:1] == ["broken step"]
