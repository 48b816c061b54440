"""The hourly schedule and the late-blob sensor ask one ranged run per block of consecutive
tenants, not a run per tenant × window (each run costs the daemon a write per planned asset and
check): the blocks cover exactly the served tenants' settled windows, a tenant that has
partitions but is not served ends a block, and a run over a block lands every tenant in it."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from o365_pipeline.defs.assets import audit_key, listing_key
from o365_pipeline.defs.partitions import (
    audit_partitions,
    partition_key_for,
    partition_range_tags,
    sync_tenant_partitions,
)
from o365_pipeline.defs.schedules import build_hourly_schedule
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.ledger import read_ledger
from o365_pipeline.tenants import DEMO_TENANTS, Tenant
from o365_pipeline.tenants.directory import StaticTenants
from o365_pipeline_tests.defs.conftest import EXCHANGE

TICK = datetime(2026, 11, 25, 10, 15, tzinfo=UTC)
WINDOWS = ("2026-11-25-08:00", "2026-11-25-09:00")
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def _tenants(count: int) -> list[Tenant]:
    return [
        Tenant(name=f"customer{number:03d}", tenant_id=f"00000000-0000-4000-8000-{number:012d}")
        for number in range(1, count + 1)
    ]


def _covered(requests, instance) -> list[tuple[str, str]]:
    """Every (tenant, window) the requests' runs cover, with repeats."""
    partitions = audit_partitions()
    covered = []
    for request in requests:
        if request.partition_key:
            keys = [partitions.get_partition_key_from_str(str(request.partition_key))]
        else:
            keys = partitions.get_partition_keys_in_range(
                dg.PartitionKeyRange(request.tags[RANGE_START], request.tags[RANGE_END]),
                dynamic_partitions_store=instance,
            )
        covered += [
            (key.keys_by_dimension["tenant"], key.keys_by_dimension["window"]) for key in keys
        ]
    return covered


def _tick(served, instance, **options):
    job = dg.define_asset_job("ingest", selection=dg.AssetSelection.all())
    schedule = build_hourly_schedule(
        job, StaticTenants(served), lag=timedelta(minutes=15), windows_per_tick=2, **options
    )
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=TICK)
    return list(schedule.evaluate_tick(context).run_requests)


def test_a_tick_asks_one_ranged_run_per_block_covering_each_tenant_window_once():
    tenants = _tenants(60)
    with dg.instance_for_test() as instance:
        sync_tenant_partitions(instance, tenants)
        requests = _tick(tenants, instance, tenants_per_run=25)
        covered = _covered(requests, instance)
    assert len(requests) == 3
    assert sorted(covered) == sorted((t.name, w) for t in tenants for w in WINDOWS)
    assert len({request.run_key for request in requests}) == 3


def test_a_tenant_with_partitions_but_not_served_ends_a_block_and_is_not_requested():
    tenants = _tenants(5)
    served = [tenant for tenant in tenants if tenant.name != "customer003"]
    with dg.instance_for_test() as instance:
        sync_tenant_partitions(instance, tenants)  # customer003 removed, not yet synced
        requests = _tick(served, instance)
        covered = _covered(requests, instance)
    assert len(requests) == 2
    assert sorted(covered) == sorted((t.name, w) for t in served for w in WINDOWS)


def test_one_run_over_a_block_of_tenants_lands_each_tenant_window(pipeline, last_complete_hour):
    first, last = DEMO_TENANTS
    result = dg.materialize(
        pipeline.assets[1:],
        selection=[listing_key(EXCHANGE), audit_key(EXCHANGE)],
        resources=pipeline.resources,
        instance=pipeline.instance,
        tags=partition_range_tags(
            first.name, last_complete_hour, last_complete_hour, through_tenant=last.name
        ),
    )
    assert result.success
    landed = {
        event.partition
        for event in result.get_asset_materialization_events()
        if event.asset_key == audit_key(EXCHANGE)
    }
    assert landed == {str(partition_key_for(t.name, last_complete_hour)) for t in DEMO_TENANTS}
    layout = DataLayout(pipeline.data_dir)
    for tenant in DEMO_TENANTS:
        entry, _ = read_ledger(layout.ledger_file(EXCHANGE.name, tenant.name, last_complete_hour))
        assert entry.status == "complete"
