"""A range of windows in one run (the assets' single-run backfill policy): each window is
materialized on its own, and one whose blob keeps failing fails only its own partition, named,
while the others land."""

from dataclasses import replace
from datetime import timedelta

import dagster as dg
import pyarrow.parquet as pq

from o365_pipeline.defs.assets import audit_key, listing_key
from o365_pipeline.defs.partitions import partition_key_for, partition_range_tags
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.ledger import read_ledger
from o365_pipeline.storage.listings import load_listing, save_listing
from o365_pipeline.tenants import DEMO_TENANTS
from o365_pipeline_tests.defs.conftest import EXCHANGE

TENANT = DEMO_TENANTS[0]


def _run(pipeline, windows, selection):
    return dg.materialize(
        pipeline.assets[1:],
        selection=selection,
        resources=pipeline.resources,
        instance=pipeline.instance,
        tags=partition_range_tags(TENANT.name, windows[0], windows[-1]),
        raise_on_error=False,
    )


def test_one_run_lands_a_range_and_one_broken_window_fails_alone(pipeline, last_complete_hour):
    windows = [last_complete_hour - timedelta(hours=offset) for offset in (3, 2, 1)]
    listed = _run(pipeline, windows, [listing_key(EXCHANGE)])
    assert listed.success
    assert sorted(event.partition for event in listed.get_asset_materialization_events()) == sorted(
        str(partition_key_for(TENANT.name, window)) for window in windows
    )

    # The middle window's first blob now names a content id the API does not have: it is
    # asked for again under the retry policy and then fails its window, by name.
    layout = DataLayout(pipeline.data_dir)
    broken = windows[1]
    listing_file = layout.listing_file(EXCHANGE.name, TENANT.name, broken)
    blobs = load_listing(listing_file, EXCHANGE.name)
    missing = blobs[0].content_uri.rsplit("/", 1)[0] + "/" + "2" * 60
    save_listing(
        listing_file, [replace(blobs[0], content_uri=missing), *blobs[1:]], listed_at=broken
    )

    landed = _run(pipeline, windows, [audit_key(EXCHANGE)])
    assert not landed.success
    materialized = {event.partition for event in landed.get_asset_materialization_events()}
    keys = {window: str(partition_key_for(TENANT.name, window)) for window in windows}
    assert materialized == {keys[windows[0]], keys[windows[2]]}
    (failure,) = [event for event in landed.all_events if event.is_step_failure]
    message = failure.step_failure_data.error.message
    assert "1 of 3 window(s) failed" in message and blobs[0].content_id in message

    status = pipeline.instance.get_status_by_partition(
        audit_key(EXCHANGE), list(keys.values()), pipeline.assets[1].partitions_def
    )
    assert status[keys[broken]] == dg.AssetPartitionStatus.FAILED
    assert (
        status[keys[windows[0]]] == status[keys[windows[2]]] == dg.AssetPartitionStatus.MATERIALIZED
    )
    for window in (windows[0], windows[2]):
        entry, _ = read_ledger(layout.ledger_file(EXCHANGE.name, TENANT.name, window))
        assert entry.status == "complete"
        ids = pq.read_table(layout.audit_file(EXCHANGE.name, TENANT.name, window)).column("Id")
        truth = pipeline.emulator.ground_truth(
            TENANT.tenant_id, EXCHANGE.name, window, window + timedelta(hours=1)
        )
        assert set(ids.to_pylist()) == truth and len(ids) == len(truth)
    entry, _ = read_ledger(layout.ledger_file(EXCHANGE.name, TENANT.name, broken))
    assert entry.status == "incomplete"
