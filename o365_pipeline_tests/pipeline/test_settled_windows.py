from datetime import UTC, datetime, timedelta

import pytest

from o365_pipeline.pipeline.settled_windows import fetchable_window_starts, settled_window_starts


def test_newest_window_is_the_last_hour_that_ended_at_least_lag_ago():
    now = datetime(2026, 11, 25, 10, 20, tzinfo=UTC)
    starts = settled_window_starts(now, lag=timedelta(minutes=15), count=1)
    assert starts == [datetime(2026, 11, 25, 9, tzinfo=UTC)]


def test_window_still_settling_within_lag_is_not_taken():
    now = datetime(2026, 11, 25, 10, 10, tzinfo=UTC)
    starts = settled_window_starts(now, lag=timedelta(minutes=15), count=1)
    assert starts == [datetime(2026, 11, 25, 8, tzinfo=UTC)]


def test_several_windows_are_returned_oldest_first_to_relist_late_blobs():
    now = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)
    starts = settled_window_starts(now, lag=timedelta(minutes=15), count=3)
    assert starts == [datetime(2026, 11, 25, hour, tzinfo=UTC) for hour in (7, 8, 9)]


def test_zero_windows_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        settled_window_starts(datetime(2026, 11, 25, tzinfo=UTC), lag=timedelta(0), count=0)


def test_fetchable_windows_are_the_newest_complete_hours_within_retention():
    now = datetime(2026, 12, 2, 10, 30, tzinfo=UTC)
    starts = fetchable_window_starts(now, 167)
    assert starts[-1] == datetime(2026, 12, 2, 9, tzinfo=UTC)
    assert len(starts) == 167
    assert starts[0] >= now - timedelta(days=7)


def test_more_hours_than_the_api_keeps_are_refused_naming_the_limit():
    with pytest.raises(ValueError, match="between 1 and 167"):
        fetchable_window_starts(datetime(2026, 12, 2, 10, 30, tzinfo=UTC), 168)


def test_on_the_hour_all_168_hours_of_the_week_are_fetchable():
    now = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    starts = fetchable_window_starts(now, 168)
    assert starts[0] == now - timedelta(days=7)
