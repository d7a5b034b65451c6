"""An in-memory token bucket per API token (per process): a steady rate with a burst allowance."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class TokenBucketLimiter:
    """`take(key)` spends one token; it returns None when allowed, else the seconds to wait."""

    def __init__(
        self, *, rate: float, burst: int, clock: Callable[[], float] = time.monotonic, max_keys: int = 10000
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[object, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def configure(self, *, rate: float, burst: int) -> None:
        """Changes the limits (tests, operators) and starts every bucket full."""
        with self._lock:
            self.rate = rate
            self.burst = burst
            self._buckets.clear()

    def take(self, key: object) -> float | None:
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return None
            self._buckets[key] = (tokens, now)
            if len(self._buckets) > self._max_keys:
                # Forget the idle buckets first (they would be full again anyway).
                self._buckets.pop(next(iter(self._buckets)))
            return (1.0 - tokens) / self.rate if self.rate > 0 else math.inf

    @staticmethod
    def retry_after(seconds: float) -> str:
        """The Retry-After header value: whole seconds, at least 1."""
        return str(max(1, math.ceil(seconds))) if math.isfinite(seconds) else "3600"
