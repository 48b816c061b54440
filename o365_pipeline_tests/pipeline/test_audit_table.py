"""No blob is ever skipped silently: one that stays broken fails its window by name and keeps
the last good Parquet, and a later run completes it; one that expired first is recorded as loss.
Loading the bodies as they arrive lands the same rows as one load after the last, and a body
that is not records in the middle of the stream is asked for again."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq
import pytest

from o365_emulator.fault_rules import make_rule
from o365_pipeline.api.errors import MalformedListingError
from o365_pipeline.api.settings import RetryPolicy
from o365_pipeline.api.windows import Window
from o365_pipeline.pipeline import window_download
from o365_pipeline.pipeline.audit_table import IncompleteWindowError, ingest_window
from o365_pipeline.pipeline.listing import list_window
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.ledger import read_ledger
from o365_pipeline.storage.listings import ListingDamagedError, save_listing
from o365_pipeline_tests.fixtures import TENANT_ID
from o365_pipeline_tests.hostile_hosts import watched_port

EXCHANGE = "Audit.Exchange"
COMPARED = ["Id", "CreationTime", "Operation", "UserId", "content_id", "raw_json"]


def _now():
    return datetime.now(UTC)


@pytest.fixture
def window():
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    return Window(start, start + timedelta(hours=1))


def _run(client, layout, window):
    list_window(client, layout, tenant="contoso", content_type=EXCHANGE, window=window, now=_now())
    return ingest_window(
        client, layout, tenant="contoso", content_type=EXCHANGE, window=window, clock=_now
    )


def test_a_blob_that_stays_broken_fails_by_name_and_a_later_run_completes(
    emulator, make_client, tmp_path, window
):
    client = make_client(max_concurrent_fetches=1)
    client.start_subscription(EXCHANGE)
    layout = DataLayout(tmp_path)
    _run(client, layout, window)
    audit_file = layout.audit_file(EXCHANGE, "contoso", window.start)
    good = audit_file.read_bytes()

    attempts = client.settings.retry.missing_blob_attempts
    emulator.add_faults(make_rule("missing_blob", count=attempts))
    with pytest.raises(IncompleteWindowError) as caught:
        _run(client, layout, window)
    first_blob = next(
        blob.content_id for blob in client.list_content(EXCHANGE, window.start, window.end)
    )
    assert first_blob in str(caught.value) and "re-materialize" in str(caught.value)
    assert audit_file.read_bytes() == good  # the last good partition stays
    entry, outcomes = read_ledger(layout.ledger_file(EXCHANGE, "contoso", window.start))
    assert (entry.status, entry.blobs_failed) == ("incomplete", 1)
    assert [o.content_id for o in outcomes if o.status == "failed"] == [first_blob]

    report = _run(client, layout, window)  # the fault is used up: a later run completes
    assert report.ledger.status == "complete"
    ids = pq.read_table(audit_file, columns=["Id"]).column("Id").to_pylist()
    assert len(ids) == len(set(ids))
    assert set(ids) == emulator.ground_truth(TENANT_ID, EXCHANGE, window.start, window.end)


def test_a_blob_that_expired_before_it_was_fetched_is_recorded_as_loss(
    emulator, make_client, tmp_path, window
):
    client = make_client()
    client.start_subscription(EXCHANGE)
    layout = DataLayout(tmp_path)
    listing = list_window(
        client, layout, tenant="contoso", content_type=EXCHANGE, window=window, now=_now()
    )
    assert len(listing.blobs) >= 2
    # Age the service past the first blob's contentExpiration but not the last one's.
    first, last = listing.blobs[0], listing.blobs[-1]
    middle = first.content_expiration + (last.content_expiration - first.content_expiration) / 2
    emulator.clock.advance((middle - datetime.now(UTC)).total_seconds())

    report = ingest_window(
        client, layout, tenant="contoso", content_type=EXCHANGE, window=window, clock=_now
    )
    statuses = {outcome.content_id: outcome.status for outcome in report.outcomes}
    assert statuses[first.content_id] == "expired"
    assert statuses[last.content_id] == "fetched"
    assert report.ledger.status == "complete_with_loss"
    assert report.ledger.blobs_expired >= 1
    entry, _ = read_ledger(layout.ledger_file(EXCHANGE, "contoso", window.start))
    assert entry.status == "complete_with_loss"


def test_a_listing_rewritten_on_disk_to_point_elsewhere_sends_nothing_there(
    emulator, make_client, tmp_path, window
):
    """Write access to the data folder (or the bucket) is not enough to harvest a token."""
    client = make_client()
    client.start_subscription(EXCHANGE)
    layout = DataLayout(tmp_path)
    listing = list_window(
        client, layout, tenant="contoso", content_type=EXCHANGE, window=window, now=_now()
    )
    listing_file = layout.listing_file(EXCHANGE, "contoso", window.start)
    with watched_port() as (port, accepted):
        planted = [
            replace(
                blob,
                content_uri=f"https://127.0.0.1:{port}/api/v1.0/{TENANT_ID}/activity/feed/x",
            )
            for blob in listing.blobs
        ]
        save_listing(listing_file, planted, listed_at=_now())
        with pytest.raises(IncompleteWindowError, match="outside the configured API host"):
            ingest_window(
                client, layout, tenant="contoso", content_type=EXCHANGE, window=window, clock=_now
            )
    assert accepted == []
    entry, _ = read_ledger(layout.ledger_file(EXCHANGE, "contoso", window.start))
    assert entry.status == "incomplete"
    assert not layout.audit_file(EXCHANGE, "contoso", window.start).exists()


@pytest.mark.parametrize(
    "damage",
    ["garbage", "other_content_type", "repeated_id"],
)
def test_a_damaged_saved_listing_is_refused_by_name_before_any_request(
    emulator, make_client, tmp_path, window, damage
):
    client = make_client()
    client.start_subscription(EXCHANGE)
    layout = DataLayout(tmp_path)
    listing = list_window(
        client, layout, tenant="contoso", content_type=EXCHANGE, window=window, now=_now()
    )
    listing_file = layout.listing_file(EXCHANGE, "contoso", window.start)
    if damage == "garbage":
        listing_file.write_bytes(b"PAR1 not a parquet file at all")
    elif damage == "other_content_type":
        moved = [replace(blob, content_type="Audit.General") for blob in listing.blobs]
        save_listing(listing_file, moved, listed_at=_now())
    else:
        save_listing(listing_file, [*listing.blobs, listing.blobs[0]], listed_at=_now())
    before = len(emulator.requests())
    with pytest.raises(ListingDamagedError, match=str(listing_file)):
        ingest_window(
            client, layout, tenant="contoso", content_type=EXCHANGE, window=window, clock=_now
        )
    assert len(emulator.requests()) == before


def test_a_listing_page_that_is_not_json_fails_the_listing_by_name(emulator, make_client, window):
    client = make_client(retry=RetryPolicy(max_attempts=1))
    client.start_subscription(EXCHANGE)
    emulator.add_faults(make_rule("invalid_json", target="listing"))
    with pytest.raises(MalformedListingError, match="subscriptions/content"):
        list(client.list_content(EXCHANGE, window.start, window.end))


def test_a_body_of_things_that_are_not_records_is_asked_for_again_and_the_window_lands(
    emulator, make_client, tmp_path, window
):
    client = make_client(max_concurrent_fetches=1)
    client.start_subscription(EXCHANGE)
    layout = DataLayout(tmp_path)
    listed = len(list(client.list_content(EXCHANGE, window.start, window.end)))
    # The first blob's body holds a string, and so does the answer to its re-fetch (the request
    # after every listed blob was fetched once; the second rule waits out the other blobs, as
    # the first rule takes the first blob's request): the retry of the re-fetch is good.
    emulator.add_faults(
        make_rule("foreign_element", count=1),
        make_rule("foreign_element", count=1, after=listed - 1),
    )

    report = _run(client, layout, window)

    assert emulator.faults.hits == {"foreign_element": 2}
    assert report.ledger.status == "complete"
    assert client.stats.retries == 1  # the re-fetch was retried by the transport's one loop
    ids = pq.read_table(layout.audit_file(EXCHANGE, "contoso", window.start)).column("Id")
    assert set(ids.to_pylist()) == emulator.ground_truth(
        TENANT_ID, EXCHANGE, window.start, window.end
    )
    assert report.ledger.records_read == sum(outcome.records_read for outcome in report.outcomes)
    assert all(outcome.records_read > 0 for outcome in report.outcomes)


def test_a_body_that_stays_not_records_fails_its_window_by_name_after_the_policys_attempts(
    emulator, make_client, tmp_path, window
):
    policy = RetryPolicy(max_attempts=3, initial_backoff_seconds=0.01)
    client = make_client(max_concurrent_fetches=1, retry=policy)
    client.start_subscription(EXCHANGE)
    layout = DataLayout(tmp_path)
    _run(client, layout, window)
    audit_file = layout.audit_file(EXCHANGE, "contoso", window.start)
    good = audit_file.read_bytes()
    listed = list(client.list_content(EXCHANGE, window.start, window.end))
    emulator.add_faults(make_rule("foreign_element", count="all"))

    with pytest.raises(IncompleteWindowError) as caught:
        _run(client, layout, window)

    assert listed[0].content_id in str(caught.value)
    assert "not an audit record" in str(caught.value)
    assert audit_file.read_bytes() == good
    entry, outcomes = read_ledger(layout.ledger_file(EXCHANGE, "contoso", window.start))
    assert entry.status == "incomplete"
    assert [o.content_id for o in outcomes if o.status == "failed"] == [listed[0].content_id]


def test_loading_each_body_as_it_arrives_gives_the_rows_of_one_load(
    emulator, make_client, tmp_path, window, monkeypatch
):
    client = make_client()
    client.start_subscription(EXCHANGE)
    at_once = DataLayout(tmp_path / "at-once")
    report_at_once = _run(client, at_once, window)
    monkeypatch.setattr(window_download, "STREAM_LOAD_BYTES", 1)  # one load per body
    streamed = DataLayout(tmp_path / "streamed")

    report = _run(client, streamed, window)

    assert len(report.outcomes) > 1, "the window should have several blobs to stream"
    assert report.ledger.duplicates_dropped > 0, "re-deliveries should be in the window"
    rows = pq.read_table(_file(streamed, window), columns=COMPARED)
    expected = pq.read_table(_file(at_once, window), columns=COMPARED)
    assert rows.equals(expected)
    assert report.ledger.records_read == report_at_once.ledger.records_read
    assert [o.records_read for o in report.outcomes] == [
        o.records_read for o in report_at_once.outcomes
    ]
    assert _timeless(report.summary) == _timeless(report_at_once.summary)
    assert set(rows.column("Id").to_pylist()) == emulator.ground_truth(
        TENANT_ID, EXCHANGE, window.start, window.end
    )


def test_a_body_that_is_not_records_mid_stream_is_asked_for_again_and_the_window_lands(
    emulator, make_client, tmp_path, window, monkeypatch
):
    monkeypatch.setattr(window_download, "STREAM_LOAD_BYTES", 1)
    client = make_client(max_concurrent_fetches=1)
    client.start_subscription(EXCHANGE)
    listed = len(list(client.list_content(EXCHANGE, window.start, window.end)))
    assert listed > 1
    # The second blob's body holds a string (after the first was loaded on its own).
    emulator.add_faults(make_rule("foreign_element", count=1, after=1))

    report = _run(client, DataLayout(tmp_path), window)

    assert emulator.faults.hits == {"foreign_element": 1}
    assert report.ledger.status == "complete"
    ids = pq.read_table(DataLayout(tmp_path).audit_file(EXCHANGE, "contoso", window.start))
    assert set(ids.column("Id").to_pylist()) == emulator.ground_truth(
        TENANT_ID, EXCHANGE, window.start, window.end
    )
    assert all(outcome.records_read > 0 for outcome in report.outcomes)


def _file(layout, window):
    return layout.audit_file(EXCHANGE, "contoso", window.start)


def _timeless(summary):
    """The summary without what depends on when each run ingested (the lag, `ingested_at`)."""
    preview = tuple({k: v for k, v in row.items() if k != "ingested_at"} for row in summary.preview)
    return replace(summary, preview=preview, lag_minutes_median=None, lag_minutes_max=None)
