"""The API's idea of "now", learned from the `Date` header of its answers.

The Activity API judges windows by its own clock (7-day retention, 24-hour span, AF20055).
A machine whose clock is off by hours either asks for windows the API refuses (and peers then
loop on AF20055) or lists a window the API has not finished, landing a partial hour as if it
were complete. Every answer carries `Date`, so the client measures the offset and judges
windows by the API's clock instead, and says so when the offset is large.
"""

from __future__ import annotations

import email.utils
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import requests

# `Date` has whole seconds, and an answer takes time to arrive: offsets below this are noise.
NOISE = timedelta(seconds=2)
# From this offset on, errors and metadata mention the skew.
NOTABLE = timedelta(seconds=60)


class ServerClock:
    """`now()` = the local clock corrected by the offset last seen in a `Date` header."""

    def __init__(self, local_clock: Callable[[], datetime] | None = None) -> None:
        self._local = local_clock or (lambda: datetime.now(UTC))
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def observe(self, date_header: str | None) -> None:
        """Learn the offset from one answer's `Date` header (ignored when unparsable)."""
        if not date_header:
            return
        try:
            server_time = email.utils.parsedate_to_datetime(date_header)
        except (TypeError, ValueError):
            return
        if server_time.tzinfo is None:
            server_time = server_time.replace(tzinfo=UTC)
        offset = server_time - self._local()
        with self._lock:
            self._offset = offset if abs(offset) >= NOISE else timedelta(0)

    def observe_response(self, response: requests.Response, *args, **kwargs) -> None:
        """A `requests` response hook (sees msal's token calls too)."""
        self.observe(response.headers.get("Date"))

    @property
    def offset(self) -> timedelta:
        """Server time minus local time (zero until an answer is seen, or when negligible)."""
        with self._lock:
            return self._offset

    def now(self) -> datetime:
        """The API's current time, as well as it is known."""
        return self._local() + self.offset

    def skew_note(self) -> str | None:
        """A sentence describing a notable skew, else None."""
        offset = self.offset
        if abs(offset) < NOTABLE:
            return None
        direction = "behind" if offset > timedelta(0) else "ahead of"
        return (
            f"This machine's clock is {_duration(abs(offset))} {direction} the API's clock "
            "(measured from the API's Date header); windows are judged by the API's clock."
        )


def _duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {seconds % 60:02d} s"
