"""The daily table assets through `materialize` on an ephemeral instance, their proof check, and
the schedule that requests settled days."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from o365_pipeline.content_types import content_type_named
from o365_pipeline.definitions import build_definitions
from o365_pipeline.defs.daily_tables import (
    DAILY_JOB_NAME,
    PROOF_CHECK,
    build_daily_table_asset,
    daily_table_key,
)
from o365_pipeline.defs.partitions import (
    daily_partitions,
    day_partition_key_for,
    sync_tenant_partitions,
)
from o365_pipeline.defs.resources import StorageResource
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.tenants import DEMO_TENANTS
from o365_pipeline_tests.synthetic_days import land_day, long_ago, synthetic_tenants

CONTOSO = DEMO_TENANTS[0]
EXCHANGE = content_type_named("Audit.Exchange")
SETTLE = timedelta(hours=26)


def _asset():
    return build_daily_table_asset(EXCHANGE, daily_partitions([CONTOSO]), settle_delay=SETTLE)


def _materialize(root, day):
    return dg.materialize(
        [_asset()],
        partition_key=str(day_partition_key_for(CONTOSO.name, day)),
        resources={"storage": StorageResource(data_dir=str(root))},
        raise_on_error=False,
    )


def test_daily_table_materializes_a_settled_day_and_its_proof_check_passes(tmp_path):
    day = long_ago(5)
    land_day(DataLayout(tmp_path), synthetic_tenants(4), CONTOSO.name, EXCHANGE.name, day)
    result = _materialize(tmp_path, day)
    assert result.success
    (materialization,) = result.asset_materializations_for_node("daily__audit_exchange")
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == PROOF_CHECK and check.passed
    assert materialization.metadata["rows"].value > 0
    assert DataLayout(tmp_path).daily_file(EXCHANGE.name, CONTOSO.name, day).exists()


def test_daily_table_of_an_unlanded_day_fails_naming_the_hours(tmp_path):
    result = _materialize(tmp_path, long_ago(5))
    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    assert "00:00 not landed" in failure.step_failure_data.error.message


def test_daily_table_depends_on_the_24_windows_of_its_day():
    (dependency,) = _asset().specs_by_key[daily_table_key(EXCHANGE)].deps
    assert dependency.asset_key == dg.AssetKey(["audit", EXCHANGE.slug])
    assert dependency.partition_mapping is not None


def test_schedule_requests_the_newest_settled_days_of_every_tenant():
    defs = build_definitions()
    schedule = defs.resolve_schedule_def("daily_tables_compaction")
    tick = datetime(2026, 12, 3, 2, 30, tzinfo=UTC)
    with dg.instance_for_test() as instance:
        sync_tenant_partitions(instance, DEMO_TENANTS[:2])
        context = dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=tick,
            repository_def=defs.get_repository_def(),
        )
        requests = list(schedule.evaluate_tick(context).run_requests)
    assert schedule.cron_schedule == "30 2 * * *"
    assert schedule.job_name == DAILY_JOB_NAME
    assert sorted(str(request.partition_key) for request in requests) == [
        f"{day}|{tenant.name}"
        for day in ("2026-11-29", "2026-11-30", "2026-12-01")
        for tenant in sorted(DEMO_TENANTS[:2], key=lambda tenant: tenant.name)
    ]
