"""The Activity API's throttling budget: requests per tenant and minute, counted per
`PublisherIdentifier` (about 2,000 a minute: Office 365 Management Activity API reference, "API
throttling"); calls without one share a smaller tenant-wide budget, which is why collectors
that omit it get AF429 first.

A fixed one-minute window per (tenant, publisher): simple, and the `Retry-After` it gives is
exactly the time until the window reopens, so a client that honours it never waits in vain.
"""

from __future__ import annotations

import math
import threading


class RequestBudget:
    """`charge()` one request; None when within budget, else the seconds to wait."""

    def __init__(self, *, per_publisher: int, without_publisher: int, window_seconds: float = 60):
        self._limits = (per_publisher, without_publisher)
        self._window = window_seconds
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str | None], tuple[float, int]] = {}

    def charge(self, tenant: str, publisher: str | None, now: float) -> int | None:
        """Count one request at monotonic time `now`; the whole seconds to wait if over."""
        limit = self._limits[0] if publisher else self._limits[1]
        if limit <= 0:
            return None
        key = (tenant, publisher.lower() if publisher else None)
        with self._lock:
            opened, used = self._counts.get(key, (now, 0))
            if now - opened >= self._window:
                opened, used = now, 0
            if used >= limit:
                return max(1, math.ceil(opened + self._window - now))
            self._counts[key] = (opened, used + 1)
        return None
