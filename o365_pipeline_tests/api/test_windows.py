from datetime import UTC, datetime, timedelta

import pytest

from o365_pipeline.api.errors import RetentionWindowError
from o365_pipeline.api.windows import (
    Window,
    check_retention,
    format_api_time,
    parse_api_time,
    split_window,
)

NOW = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)


def test_a_thirty_hour_range_is_split_into_windows_of_at_most_24_hours():
    window = Window(NOW - timedelta(hours=30), NOW)
    pieces = list(split_window(window))
    assert [piece.end - piece.start for piece in pieces] == [
        timedelta(hours=24),
        timedelta(hours=6),
    ]
    assert pieces[0].start == window.start and pieces[-1].end == window.end
    assert pieces[0].end == pieces[1].start


def test_a_window_within_seven_days_passes_the_retention_check():
    check_retention(Window(NOW - timedelta(days=6, hours=23), NOW - timedelta(days=6)), NOW)


def test_a_window_older_than_seven_days_names_the_window_its_age_and_the_limit():
    window = Window(NOW - timedelta(days=8), NOW - timedelta(days=8) + timedelta(hours=1))
    with pytest.raises(RetentionWindowError) as raised:
        check_retention(window, NOW)
    message = str(raised.value)
    assert "last 7 days" in message
    assert "8.0 days ago" in message
    assert "2026-11-17T10:30:00Z" in message


def test_api_times_are_written_without_zone_and_read_with_milliseconds():
    assert format_api_time(datetime(2026, 11, 20, 10, 15, tzinfo=UTC)) == "2026-11-20T10:15:00"
    assert parse_api_time("2026-11-20T10:15:00.123Z") == datetime(
        2026, 11, 20, 10, 15, 0, 123000, tzinfo=UTC
    )


def test_windows_must_be_timezone_aware():
    with pytest.raises(ValueError, match="timezone"):
        Window(datetime(2026, 11, 20), datetime(2026, 11, 21))
