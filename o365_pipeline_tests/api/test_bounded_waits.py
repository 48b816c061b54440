"""Every wait has a bound: a server that says "come back now" for ever, trickles a body, or
hands out ever-new next pages ends the request or the window with an error that names the
limit, and each retry is logged and counted (client against the emulator over loopback HTTPS).
"""

import logging
import time
from datetime import timedelta

import pytest

from o365_emulator import DEFAULT_CLIENT_SECRET
from o365_emulator.fault_rules import make_rule
from o365_pipeline.api.errors import DeadlineExceededError, PageLimitError, ThrottledError
from o365_pipeline.api.settings import RetryPolicy

EXCHANGE = "Audit.Exchange"


class FakeMonotonic:
    """A monotonic clock that moves only when the client sleeps."""

    def __init__(self):
        self.now = 10_000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def _first_blob(client, last_hour):
    client.start_subscription(EXCHANGE)
    return next(iter(client.list_content(EXCHANGE, last_hour, last_hour + timedelta(hours=1))))


@pytest.mark.parametrize("retry_after", ["0", "Wed, 21 Oct 2015 07:28:00 GMT"])
def test_retry_after_now_or_in_the_past_counts_as_an_attempt(make_client, emulator, retry_after):
    sleeps = []
    client = make_client(sleeps=sleeps, retry=RetryPolicy(max_attempts=3))
    emulator.add_faults(make_rule("throttle", retry_after=retry_after, count="all"))
    with pytest.raises(ThrottledError):
        client.list_subscriptions()
    assert client.stats.requests == 3
    assert len(sleeps) == 2 and all(seconds > 0 for seconds in sleeps)  # backoff, not 0


def test_a_trickled_body_ends_at_the_request_deadline_and_leaves_no_file(
    make_client, emulator, last_hour, tmp_path
):
    client = make_client(
        retry=RetryPolicy(max_attempts=2, initial_backoff_seconds=0.01, request_deadline_seconds=1)
    )
    blob = _first_blob(client, last_hour)
    client.download_blob(blob, tmp_path / "untouched.json")
    body_seconds = (tmp_path / "untouched.json").stat().st_size * 0.05
    emulator.add_faults(make_rule("trickle", seconds_per_byte=0.05, count="all"))
    started = time.monotonic()
    result = client.download_blob_or_error(blob, tmp_path / "blob.json")
    elapsed = time.monotonic() - started
    assert isinstance(result, DeadlineExceededError)
    assert "O365_REQUEST_DEADLINE_SECONDS" in str(result)
    assert not (tmp_path / "blob.json").exists()
    # The blob is thousands of bytes at 20 a second: the whole body would take minutes.
    assert body_seconds > 60
    assert elapsed < body_seconds / 4


def test_an_endless_chain_of_new_next_pages_stops_at_the_page_limit(
    make_client, emulator, last_hour
):
    client = make_client(retry=RetryPolicy(max_pages_per_window=5))
    client.start_subscription(EXCHANGE)
    emulator.add_faults(make_rule("endless_pages", count="all"))
    before = len(emulator.requests())
    with pytest.raises(PageLimitError, match="O365_MAX_PAGES_PER_WINDOW"):
        list(client.list_content(EXCHANGE, last_hour, last_hour + timedelta(hours=1)))
    listings = [
        request
        for request in emulator.requests()[before:]
        if "subscriptions/content" in request.path
    ]
    assert len(listings) == 5
    assert len({request.query for request in listings}) == 5  # every one a new URI


def test_a_window_that_keeps_being_throttled_ends_at_the_window_deadline(
    make_client, emulator, last_hour
):
    clock = FakeMonotonic()
    client = make_client(
        retry=RetryPolicy(window_deadline_seconds=250, max_total_wait_seconds=10_000),
        monotonic=clock,
        sleep=clock.sleep,
    )
    client.start_subscription(EXCHANGE)
    emulator.add_faults(make_rule("throttle", retry_after="100", target="listing", count="all"))
    with pytest.raises(DeadlineExceededError, match="O365_WINDOW_DEADLINE_SECONDS"):
        list(client.list_content(EXCHANGE, last_hour, last_hour + timedelta(hours=1)))
    assert clock.sleeps == [100.0, 100.0]  # a third wait would end past the deadline


def test_every_retry_is_logged_without_the_secret_and_counted(make_client, emulator, caplog):
    client = make_client(sleeps=[], retry=RetryPolicy(max_attempts=4))
    emulator.add_faults(make_rule("server_error", count=2, status=503))
    with caplog.at_level(logging.INFO, logger="o365_pipeline"):
        client.list_subscriptions()
    retries = [record for record in caplog.records if "retrying" in record.getMessage()]
    assert len(retries) == 2 == client.stats.retries
    assert "subscriptions/list" in retries[0].getMessage()
    assert DEFAULT_CLIENT_SECRET not in caplog.text
    assert "Bearer" not in caplog.text and "eyJ" not in caplog.text


def test_trickled_headers_end_at_the_request_deadline_too(
    make_client, emulator, last_hour, tmp_path
):
    """Each header byte comes well inside the read timeout; only a total deadline ends it."""
    client = make_client(
        retry=RetryPolicy(max_attempts=1, request_deadline_seconds=1), timeout_seconds=30
    )
    blob = _first_blob(client, last_hour)
    emulator.add_faults(make_rule("trickle", seconds_per_byte=0.2, headers=1, count="all"))
    started = time.monotonic()
    result = client.download_blob_or_error(blob, tmp_path / "blob.json")
    elapsed = time.monotonic() - started
    assert isinstance(result, DeadlineExceededError)
    assert not (tmp_path / "blob.json").exists()
    # Headers of a few hundred bytes at 5 a second would take a minute or more.
    assert elapsed < 30
