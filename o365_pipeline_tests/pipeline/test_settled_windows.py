from datetime import UTC, datetime, timedelta

import pytest

from o365_pipeline.pipeline.settled_windows import settled_window_starts


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
