"""Which availability windows a scheduled tick should (re)materialize.

A window selects blobs by contentCreated, so it can be listed completely once its end has
passed; `lag` leaves the service a few minutes to publish blobs created just before the end.
Each tick also re-lists the windows before the newest one (`count` > 1), which picks up blobs
that appear in an already-listed window later, as the live service sometimes does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def settled_window_starts(now: datetime, *, lag: timedelta, count: int) -> list[datetime]:
    """Start hours of the newest `count` windows whose end is at least `lag` before `now`."""
    if count < 1:
        raise ValueError(f"count must be at least 1 window, got {count}")
    newest_end = (now.astimezone(UTC) - lag).replace(minute=0, second=0, microsecond=0)
    return [newest_end - timedelta(hours=offset) for offset in range(count, 0, -1)]
