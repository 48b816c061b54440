"""The hourly schedule that keeps every tenant's audit tables current."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from o365_pipeline.defs.partitions import partition_key_for
from o365_pipeline.ingest.settled_windows import settled_window_starts
from o365_pipeline.tenants import Tenant


def build_hourly_schedule(
    job: dg.UnresolvedAssetJobDefinition,
    tenants: tuple[Tenant, ...],
    *,
    lag: timedelta,
    windows_per_tick: int,
) -> dg.ScheduleDefinition:
    """Each hour, `lag` after the hour, materialize the newest settled window(s) per tenant.

    Re-materializing the previous window(s) too (`windows_per_tick` > 1) picks up blobs that
    appear late; partitions are idempotent, so this never duplicates data.
    """
    minute = int(lag.total_seconds() // 60) % 60

    @dg.schedule(
        name="hourly_audit_ingest",
        job=job,
        cron_schedule=f"{minute} * * * *",
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )
    def hourly_audit_ingest(context: dg.ScheduleEvaluationContext):
        for window_start in settled_window_starts(
            context.scheduled_execution_time, lag=lag, count=windows_per_tick
        ):
            for tenant in tenants:
                key = partition_key_for(tenant.name, window_start)
                yield dg.RunRequest(run_key=f"{key}", partition_key=key)

    return hourly_audit_ingest
