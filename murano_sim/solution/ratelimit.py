"""Murano's request rate limits under serve: `--#RATELIMIT n` on an endpoint and the Webservice
configuration's solution-wide `rate_limit`, both requests per minute per token (or per client
address when the endpoint takes no credential), counted on the solution's clock.

A sliding window: a request is admitted when fewer than n requests of the same bucket were
admitted in the 60 seconds before it. Choices and evidence: docs/fidelity-results.md.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict, deque
from collections.abc import Mapping
from typing import Any

from werkzeug.wrappers import Response

WINDOW_SECONDS = 60.0
MAX_BUCKETS = 10_000  # distinct (scope, client) buckets kept; the least recently used go first
STATUS_TOO_MANY = 429


def solution_rate_limit(webservice: Mapping[str, Any]) -> int | None:
    """The Webservice `rate_limit` (requests per minute); 0, absent or not a number: none."""
    value = webservice.get("rate_limit")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        limit = int(value)
    except ValueError:
        return None
    return limit if limit > 0 else None


class RateLimiter:
    """Sliding-window buckets keyed by (scope, client); thread-safe."""

    def __init__(self) -> None:
        self._buckets: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def admit(self, scope: str, client: str, limit: int, now: float) -> float | None:
        """None when admitted (and counted); else the seconds until the bucket admits again."""
        with self._lock:
            key = (scope, client)
            times = self._buckets.pop(key, None) or deque()
            self._buckets[key] = times  # most recently used last
            while times and times[0] <= now - WINDOW_SECONDS:
                times.popleft()
            if len(times) >= limit:
                return max(0.0, times[0] + WINDOW_SECONDS - now)
            times.append(now)
            while len(self._buckets) > MAX_BUCKETS:
                self._buckets.popitem(last=False)
            return None

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()


def too_many_requests(limit: int, retry_after: float) -> Response:
    """429 with Retry-After (whole seconds, at least 1) and an error body like the gateway's 401."""
    body = json.dumps({"error": f"rate limit exceeded: {limit} requests per minute", "status": STATUS_TOO_MANY})
    response = Response(body, status=STATUS_TOO_MANY, content_type="application/json")
    response.headers["Retry-After"] = str(max(1, int(retry_after + 0.999)))
    return response
