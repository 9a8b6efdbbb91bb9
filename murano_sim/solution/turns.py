"""Whose turn it is in a solution's one VM: executions one at a time, in arrival order, with a bounded queue.

One LuaJIT state cannot run two executions at once, so a solution's executions serialise (Murano
also runs one solution's scripts in its own VM). What this adds over a lock: the turn passes to
the thread that has waited longest (a plain lock lets a newcomer barge ahead, so under 64
clients some waited seconds), and an endpoint request that finds `limit` executions already
waiting is refused at once (QueueFull: a 503 with Retry-After) instead of waiting without end.
Re-entrant: a handler that triggers another one inside its run keeps its turn.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


class QueueFull(Exception):
    """`waiting` executions were queued already (the bound); the request was not run."""

    def __init__(self, waiting: int) -> None:
        super().__init__(f"{waiting} executions are waiting for the solution's VM")
        self.waiting = waiting


class Turns:
    """A re-entrant FIFO lock; `limit` bounds how many bounded acquirers may wait (None: no bound)."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self._mutex = threading.Lock()
        self._owner: int | None = None
        self._depth = 0
        self._waiting: deque[tuple[int, threading.Lock]] = deque()  # (thread, its parked lock), oldest first

    @property
    def held(self) -> bool:
        """Whether an execution (or a service's work that ends in one) holds the turn now."""
        return self._owner is not None

    @property
    def waiting(self) -> int:
        """How many executions wait for their turn now."""
        return len(self._waiting)

    def acquire(self, bounded: bool = False) -> None:
        """Wait for this thread's turn; QueueFull if bounded and `limit` are waiting already."""
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me:
                self._depth += 1
                return
            if self._owner is None:
                self._owner, self._depth = me, 1
                return
            if bounded and self.limit is not None and len(self._waiting) >= self.limit:
                raise QueueFull(len(self._waiting))
            parked = threading.Lock()
            parked.acquire()
            self._waiting.append((me, parked))
        parked.acquire()  # released by the thread that hands this one its turn (owner already set)

    def release(self) -> None:
        with self._mutex:
            if self._owner != threading.get_ident():
                raise RuntimeError("release of a turn this thread does not hold")
            self._depth -= 1
            if self._depth:
                return
            if not self._waiting:
                self._owner = None
                return
            # Handed over, not freed: no newcomer can take the turn between release and wake-up.
            self._owner, parked = self._waiting.popleft()
            self._depth = 1
            parked.release()

    @contextmanager
    def turn(self, bounded: bool = False) -> Iterator[None]:
        self.acquire(bounded)
        try:
            yield
        finally:
            self.release()
