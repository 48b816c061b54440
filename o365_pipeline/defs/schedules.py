"""The hourly schedule that keeps every tenant's audit tables current."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import dagster as dg

from o365_pipeline.defs.partitions import (
    TENANT_PARTITIONS_NAME,
    partition_key_for,
    partition_range_tags,
)
from o365_pipeline.pipeline.settled_windows import settled_window_starts
from o365_pipeline.tenants import Tenant
from o365_pipeline.tenants.directory import TenantDirectory, as_directory

# Tenants per scheduled run. Creating a run costs the daemon one event-log write per asset ×
# partition and per asset check it plans (10 assets and 25 checks for the ingest job): a run
# per tenant × window made a tick for 100 tenants 204 runs and 7,140 writes (375 s on a loaded
# 2-core machine with the SQLite instance); blocks of 25 make it 5 runs and 2,165 writes
# (`python -m o365_pipeline_tests.bench.partition_scale`). A run lands its tenants one after
# another, so the block size also bounds how long the last tenant of a block waits.
TENANTS_PER_RUN = 25


def build_hourly_schedule(
    job: dg.UnresolvedAssetJobDefinition,
    tenants: TenantDirectory | Sequence[Tenant],
    *,
    lag: timedelta,
    windows_per_tick: int,
    tenants_per_run: int = TENANTS_PER_RUN,
) -> dg.ScheduleDefinition:
    """Each hour, `lag` after the hour, materialize the newest settled window(s) of every
    tenant: one ranged run per block of up to `tenants_per_run` consecutive tenants (the
    assets' backfill policy is single-run), rather than one run per tenant × window.

    Re-materializing the previous window(s) too (`windows_per_tick` > 1) picks up blobs that
    appear late; partitions are idempotent, so this never duplicates data. Tenants are read at
    each tick, and only those whose partitions exist are requested (a removed tenant drops out).
    """
    minute = int(lag.total_seconds() // 60) % 60
    directory = as_directory(tenants)

    @dg.schedule(
        name="hourly_audit_ingest",
        job=job,
        cron_schedule=f"{minute} * * * *",
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )
    def hourly_audit_ingest(context: dg.ScheduleEvaluationContext):
        windows = settled_window_starts(
            context.scheduled_execution_time, lag=lag, count=windows_per_tick
        )
        for block in tenant_blocks(context, directory, tenants_per_run):
            yield ranged_run_request(block, windows[0], windows[-1])

    return hourly_audit_ingest


def ranged_run_request(
    block: Sequence[str], first: datetime, last: datetime, **options: object
) -> dg.RunRequest:
    """A run over windows `first`..`last` of the consecutive tenants `block` (one partition:
    a plain partition key, as a UI launch has).
    """
    if len(block) == 1 and first == last:
        key = partition_key_for(block[0], first)
        return dg.RunRequest(run_key=f"{key}", partition_key=key, **options)
    tags = partition_range_tags(block[0], first, last, through_tenant=block[-1])
    start, end = tags.values()
    return dg.RunRequest(run_key=f"{start}...{end}", tags=tags, **options)


def tenant_blocks(
    context: dg.ScheduleEvaluationContext | dg.SensorEvaluationContext,
    directory: TenantDirectory,
    size: int,
) -> list[tuple[str, ...]]:
    """The served tenants whose partitions exist, in the tenant dimension's order, cut into
    runs of at most `size` consecutive ones. A ranged run covers every tenant between its
    first and last in that order, so a tenant that has partitions but is not served (removed
    from the registry, its partitions not yet deleted) ends a block instead of joining it.
    """
    served = [tenant.name for tenant in directory.all()]
    order = _tenant_partitions(context) or served
    wanted = set(served)
    blocks: list[tuple[str, ...]] = []
    block: list[str] = []
    for name in order:
        if name in wanted and len(block) < size:
            block.append(name)
            continue
        if block:
            blocks.append(tuple(block))
        block = [name] if name in wanted else []
    if block:
        blocks.append(tuple(block))
    return blocks


def _tenant_partitions(
    context: dg.ScheduleEvaluationContext | dg.SensorEvaluationContext,
) -> list[str]:
    """The instance's tenant partitions in their order (none without an instance)."""
    try:
        instance = context.instance
    except dg.DagsterInvariantViolationError:  # a context built without an instance
        return []
    return list(instance.get_dynamic_partitions(TENANT_PARTITIONS_NAME))


def tenants_with_partitions(
    context: dg.ScheduleEvaluationContext | dg.SensorEvaluationContext,
    directory: TenantDirectory,
) -> list[Tenant]:
    """The served tenants whose partitions exist, with one read of the instance (a
    `tenant_has_partitions` per tenant reads it once each: about a second for 100 tenants on
    SQLite, at every tick of a 30-second sensor).
    """
    known = set(_tenant_partitions(context))
    return [tenant for tenant in directory.all() if not known or tenant.name in known]


def tenant_has_partitions(context: dg.ScheduleEvaluationContext, name: str) -> bool:
    """Whether the tenant's partitions exist (always, for a static tenant dimension)."""
    known = _tenant_partitions(context)
    return not known or name in known
