"""The daily detections schedule, evaluated with a built schedule context: the days that ended,
for each tenant whose partitions exist, as the definitions register it."""

from datetime import UTC, datetime

import dagster as dg

from o365_pipeline.definitions import build_definitions
from o365_pipeline.defs.detections import (
    DETECTIONS_JOB_NAME,
    DETECTIONS_KEY,
    DETECTIONS_SCHEDULE_NAME,
)
from o365_pipeline.defs.partitions import sync_tenant_partitions
from o365_pipeline.tenants import DEMO_TENANTS

TICK = datetime(2026, 12, 3, 4, 15, tzinfo=UTC)


def _requests(defs: dg.Definitions, tenants) -> list[dg.RunRequest]:
    with dg.instance_for_test() as instance:
        # Resolved inside this instance's context: Dagster builds the repository with the
        # current instance's definitions-state storage, and an earlier test's instance may
        # have left its (disposed) one behind.
        schedule = defs.resolve_schedule_def(DETECTIONS_SCHEDULE_NAME)
        sync_tenant_partitions(instance, tenants)
        context = dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=TICK,
            repository_def=defs.get_repository_def(),
        )
        return list(schedule.evaluate_tick(context).run_requests)


def test_each_tick_requests_yesterday_and_the_day_before_for_both_tenants():
    defs = build_definitions()
    requests = _requests(defs, DEMO_TENANTS[:2])
    schedule = defs.resolve_schedule_def(DETECTIONS_SCHEDULE_NAME)
    partitions = defs.resolve_assets_def(DETECTIONS_KEY).partitions_def

    assert schedule.cron_schedule == "15 4 * * *"
    assert schedule.execution_timezone == "UTC"
    assert schedule.job_name == DETECTIONS_JOB_NAME
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    assert sorted(str(request.partition_key) for request in requests) == [
        f"{day}|{name}"
        for day in ("2026-12-01", "2026-12-02")
        for name in sorted(tenant.name for tenant in DEMO_TENANTS[:2])
    ]
    for request in requests:  # each key is a partition of the asset the job runs
        partitions.get_partition_key_from_str(str(request.partition_key))
        assert request.run_key.endswith("@2026-12-03")
    assert len({request.run_key for request in requests}) == len(requests) == 4


def test_a_served_tenant_without_partitions_is_not_requested():
    contoso = [tenant for tenant in DEMO_TENANTS if tenant.name == "contoso"]
    requests = _requests(build_definitions(), contoso)  # fabrikam is served, not partitioned
    assert {str(request.partition_key).split("|")[1] for request in requests} == {"contoso"}
