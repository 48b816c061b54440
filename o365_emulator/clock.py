"""The emulator's clock: real UTC time plus an adjustable offset, so tests can expire tokens,
age content past its retention, or move the listing horizon without waiting.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class EmulatorClock:
    """`now()` = the real UTC time + an offset that `advance()` moves forward."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The emulated current time (aware UTC)."""
        with self._lock:
            return datetime.now(UTC) + self._offset

    def set_offset(self, seconds: float) -> None:
        """Put the emulated time `seconds` away from the real time (a skewed server clock)."""
        with self._lock:
            self._offset = timedelta(seconds=seconds)

    @property
    def offset_seconds(self) -> float:
        """How far the emulated time is from the real time."""
        with self._lock:
            return self._offset.total_seconds()

    def advance(self, seconds: float) -> None:
        """Move the emulated time forward by `seconds`."""
        with self._lock:
            self._offset += timedelta(seconds=seconds)
