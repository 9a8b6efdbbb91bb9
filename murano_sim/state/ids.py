"""Unique ids an execution or a connection carries (request_id, tracking_id, a device write's
connection_id): 32 hex digits as a uuid4's hex.

A per-process random half and a counter: a new id makes no urandom call (a syscall that gives up
the GIL, costly when many clients run at once). Unique within the process and across processes
(the random half), not secret: nothing may use one as a credential.
"""

from __future__ import annotations

import itertools
import os

_PREFIX = os.urandom(8).hex()
_COUNTER = itertools.count(1)


def new_id() -> str:
    return f"{_PREFIX}{next(_COUNTER):016x}"
