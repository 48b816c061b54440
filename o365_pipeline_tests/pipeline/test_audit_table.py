"""No blob is ever skipped silently: one that stays broken fails its window by name and keeps
the last good Parquet, and a later run completes it; one that expired first is recorded as loss."""

from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq
import pytest

from o365_emulator.fault_rules import make_rule
from o365_pipeline.api.windows import Window
from o365_pipeline.pipeline.audit_table import IncompleteWindowError, ingest_window
from o365_pipeline.pipeline.listing import list_window
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.ledger import read_ledger
from o365_pipeline_tests.fixtures import TENANT_ID

EXCHANGE = "Audit.Exchange"


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
