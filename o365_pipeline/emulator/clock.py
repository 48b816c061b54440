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

    def advance(self, seconds: float) -> None:
        """Move the emulated time forward by `seconds`."""
        with self._lock:
            self._offset += timedelta(seconds=seconds)
