"""Which availability windows a scheduled tick should (re)materialize.

A window selects blobs by contentCreated, so it can be listed completely once its end has
passed; `lag` leaves the service a few minutes to publish blobs created just before the end.
Each tick also re-lists the windows before the newest one (`count` > 1), which picks up blobs
that appear in an already-listed window later, as the live service sometimes does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from o365_pipeline.api.windows import RETENTION


def settled_window_starts(now: datetime, *, lag: timedelta, count: int) -> list[datetime]:
    """Start hours of the newest `count` windows whose end is at least `lag` before `now`."""
    if count < 1:
        raise ValueError(f"count must be at least 1 window, got {count}")
    newest_end = (now.astimezone(UTC) - lag).replace(minute=0, second=0, microsecond=0)
    return [newest_end - timedelta(hours=offset) for offset in range(count, 0, -1)]


def fetchable_window_starts(now: datetime, hours: int) -> list[datetime]:
    """Start hours of the `hours` newest complete windows the API can still list, oldest first.

    The API lists content from the last 7 days only (startTime at most 7 days back), so the
    oldest complete window that can still be listed starts on the first hour boundary at or
    after `now − 7 days`: there are 167 such windows, or 168 when `now` is exactly on the hour.

    Raises:
        ValueError: `hours` is not between 1 and the number of fetchable windows, naming both.

    """
    now = now.astimezone(UTC)
    newest_end = now.replace(minute=0, second=0, microsecond=0)
    oldest_allowed = now - RETENTION
    available = int((newest_end - oldest_allowed) // timedelta(hours=1))
    if not 1 <= hours <= available:
        raise ValueError(
            f"--hours must be between 1 and {available}: the API lists only the last "
            f"{RETENTION.days} days, so {available} complete hours can be fetched right now."
        )
    return [newest_end - timedelta(hours=offset) for offset in range(hours, 0, -1)]
