"""Clock skew: the client judges windows by the API's clock (from its Date header), names the
skew, and never loops on AF20055 or lands a window the API has not finished."""

from datetime import UTC, datetime, timedelta

import pytest

from o365_pipeline.api.errors import ClockSkewError, RetentionWindowError
from o365_pipeline.api.server_clock import ServerClock


def _at(moment):
    return lambda: moment


LOCAL = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_server_clock_learns_the_offset_from_a_date_header():
    clock = ServerClock(_at(LOCAL))
    clock.observe("Wed, 25 Nov 2026 15:00:00 GMT")
    assert clock.offset == timedelta(hours=3)
    assert clock.now() == LOCAL + timedelta(hours=3)
    assert "3 h 00 min behind" in clock.skew_note()


def test_an_offset_within_the_date_headers_resolution_is_ignored():
    clock = ServerClock(_at(LOCAL))
    clock.observe("Wed, 25 Nov 2026 12:00:01 GMT")
    assert clock.offset == timedelta(0) and clock.skew_note() is None


def test_a_small_real_offset_is_corrected_without_a_warning():
    clock = ServerClock(_at(LOCAL))
    clock.observe("Wed, 25 Nov 2026 11:59:30 GMT")
    assert clock.offset == timedelta(seconds=-30) and clock.skew_note() is None


def test_garbage_date_headers_change_nothing():
    clock = ServerClock(_at(LOCAL))
    for header in (None, "", "yesterday", "Wed, 99 Nov 2026 99:00:00 GMT"):
        clock.observe(header)
    assert clock.offset == timedelta(0)


def _listing_requests(emulator):
    return [entry for entry in emulator.requests() if entry.path.endswith("subscriptions/content")]


def test_local_clock_behind_the_api_names_the_skew_instead_of_looping(emulator, make_client):
    emulator.clock.set_offset(3 * 3600)  # the API is 3 h ahead of this machine
    client = make_client()
    client.start_subscription("Audit.Exchange")
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=7)
    start += timedelta(hours=2)  # inside 7 days locally, outside by the API's clock
    with pytest.raises(ClockSkewError) as caught:
        list(client.list_content("Audit.Exchange", start, start + timedelta(hours=1)))
    message = str(caught.value)
    assert "behind the API's clock" in message and "NTP" in message
    assert isinstance(caught.value, RetentionWindowError)
    assert _listing_requests(emulator) == []  # refused before asking: no AF20055 loop


def test_a_fresh_client_meeting_af20055_names_the_skew(emulator, make_client):
    emulator.clock.set_offset(3 * 3600)
    make_client().start_subscription("Audit.Exchange")
    client = make_client()  # has seen no Date header yet
    start = datetime.now(UTC) - timedelta(days=7) + timedelta(hours=2)
    start = start.replace(minute=0, second=0, microsecond=0)
    with pytest.raises(ClockSkewError, match="behind the API's clock"):
        list(client.list_content("Audit.Exchange", start, start + timedelta(hours=1)))
    assert len(_listing_requests(emulator)) <= 1


def test_local_clock_ahead_refuses_a_window_the_api_has_not_finished(emulator, make_client):
    emulator.clock.set_offset(-2 * 3600)  # the API is 2 h behind this machine
    client = make_client()
    client.start_subscription("Audit.Exchange")
    last_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    with pytest.raises(ClockSkewError) as caught:
        list(client.list_content("Audit.Exchange", last_hour, last_hour + timedelta(hours=1)))
    message = str(caught.value)
    assert "ahead of the API's clock" in message and "has not ended yet" in message


def test_without_skew_the_same_window_lists_normally(emulator, make_client):
    client = make_client()
    client.start_subscription("Audit.Exchange")
    last_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    blobs = list(client.list_content("Audit.Exchange", last_hour, last_hour + timedelta(hours=1)))
    assert blobs and client.server_clock.skew_note() is None
