"""The API's time rules, in one place, as pure functions over an injected `now`.

- A listing window selects blobs by contentCreated: startTime inclusive, endTime exclusive.
- startTime and endTime at most 24 hours apart (AF20055), so longer ranges are split.
- startTime at most 7 days back (AF20055): an older window can never be listed again, which is
  reported as an error naming the limit, never as an empty success.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from o365_pipeline.api.errors import RetentionWindowError

MAX_WINDOW = timedelta(hours=24)
RETENTION = timedelta(days=7)


@dataclass(frozen=True)
class Window:
    """A [start, end) range of contentCreated, in aware UTC datetimes."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window bounds must be timezone-aware (UTC)")
        if self.start >= self.end:
            raise ValueError(f"window start {self.start} is not before its end {self.end}")

    @property
    def label(self) -> str:
        """Human form, e.g. `2026-11-25T09:00Z–10:00Z`."""
        return f"{format_api_time(self.start)}Z–{format_api_time(self.end)}Z"


def split_window(window: Window, max_span: timedelta = MAX_WINDOW) -> Iterator[Window]:
    """Consecutive windows covering `window`, none longer than `max_span`."""
    start = window.start
    while start < window.end:
        end = min(start + max_span, window.end)
        yield Window(start, end)
        start = end


def check_retention(window: Window, now: datetime, retention: timedelta = RETENTION) -> None:
    """Refuse a window that starts before the API's listing retention.

    Raises:
        RetentionWindowError: with the window, its age and the limit.

    """
    oldest = now.astimezone(UTC) - retention
    if window.start < oldest:
        age = now - window.start
        raise RetentionWindowError(
            code="AF20055",
            http_status=None,
            api_message=f"window {window.label} starts {_days(age)} ago",
            explanation=(
                f"The Management Activity API only lists content from the last "
                f"{retention.days} days (startTime ≥ {format_api_time(oldest)}Z); the "
                f"window {window.label} starts {_days(age)} ago, so its blobs can no "
                "longer be listed from Microsoft."
            ),
            fix="Materialize windows within the last 7 days; this hour's audit data can only "
            "come from data landed earlier or from a Purview audit search export.",
        )


def format_api_time(moment: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SS` in UTC, a form the API documents for startTime/endTime."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def parse_api_time(text: str) -> datetime:
    """Parse the API's `2026-11-20T10:15:00.123Z` (contentCreated, contentExpiration)."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _days(age: timedelta) -> str:
    return f"{age.total_seconds() / 86400:.1f} days"
