"""Faults the emulator can inject, switchable at run time (tests flip them per case).

Starts with throttling; later faults (5xx bursts, resets, truncated bodies, …) join here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Throttle:
    """How the next throttled answer looks."""

    status: int
    retry_after_seconds: int | None


class FaultPlan:
    """Thread-safe switches consulted by every API request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._throttles: list[Throttle] = []

    def throttle_next(
        self, count: int, retry_after_seconds: int | None = 1, status: int = 429
    ) -> None:
        """Answer the next `count` API requests with AF429 (429, or 403 as Microsoft documents)."""
        with self._lock:
            self._throttles.extend([Throttle(status, retry_after_seconds)] * count)

    def take_throttle(self) -> Throttle | None:
        """The throttle for this request, if one is pending."""
        with self._lock:
            return self._throttles.pop(0) if self._throttles else None

    def clear(self) -> None:
        """Switch every fault off."""
        with self._lock:
            self._throttles.clear()
