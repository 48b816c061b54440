"""Sensors: one keeps the tenant partitions equal to the tenant registry (a tenant added with
`o365-pipeline tenants add` gets its partitions within a tick, a removed one loses them and so
drops out of the schedule, with no code change and no UI restart); one has recent windows
re-listed and re-materializes only those that gained late blobs, without calling the API itself.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import dagster as dg

from o365_pipeline.api.windows import Window
from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.defs.partitions import (
    TENANT_PARTITIONS_NAME,
    partition_key_for,
    partition_range_tags,
)
from o365_pipeline.defs.resources import StorageResource
from o365_pipeline.defs.schedules import TENANTS_PER_RUN, tenant_blocks
from o365_pipeline.pipeline.relisting import changed_windows
from o365_pipeline.tenants.directory import TenantDirectory


def build_tenant_registry_sensor(directory: TenantDirectory) -> dg.SensorDefinition:
    """Add and delete dynamic tenant partitions to match `directory`."""

    @dg.sensor(
        name="tenant_registry_sync",
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Keeps the tenant partitions equal to the tenant registry (tenants.json).",
    )
    def tenant_registry_sync(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        wanted = [tenant.name for tenant in directory.all()]
        current = set(context.instance.get_dynamic_partitions(TENANT_PARTITIONS_NAME))
        added = [name for name in wanted if name not in current]
        removed = sorted(current - set(wanted))
        requests = []
        if added:
            requests.append(dg.AddDynamicPartitionsRequest(TENANT_PARTITIONS_NAME, added))
        if removed:
            requests.append(dg.DeleteDynamicPartitionsRequest(TENANT_PARTITIONS_NAME, removed))
        if not requests:
            return dg.SensorResult(skip_reason="tenant partitions match the registry")
        context.log.info(f"tenants added: {added or 'none'}; removed: {removed or 'none'}")
        return dg.SensorResult(dynamic_partitions_requests=requests)

    return tenant_registry_sync


LATE_BLOBS_TAG = "o365/late_blobs"


def build_late_blob_sensor(
    ingest_job: dg.UnresolvedAssetJobDefinition,
    relist_job: dg.UnresolvedAssetJobDefinition,
    directory: TenantDirectory,
    *,
    lookback: timedelta,
    settle: timedelta,
) -> dg.SensorDefinition:
    """Land late blobs (Microsoft publishes some hours late, with an earlier contentCreated).

    The tick itself calls no API: once an hour it requests a run of the listing assets over
    the tenants' recent windows (one ranged run per block of consecutive tenants), and at
    every tick it compares each window's saved listing with its ledger, on disk, and requests
    the partitions whose listing grew. A re-run that failed is requested again on a later tick.
    """

    @dg.sensor(
        name="late_blob_relist",
        jobs=[ingest_job, relist_job],
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Hourly: re-list recent windows; then re-run the partitions that gained blobs.",
    )
    def late_blob_relist(context: dg.SensorEvaluationContext, storage: StorageResource):
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - settle
        windows = [
            Window(now - timedelta(hours=hours), now - timedelta(hours=hours - 1))
            for hours in range(int(lookback.total_seconds() // 3600), 0, -1)
        ]
        for tenant in directory.all():
            yield from _late_blob_runs(context, storage, ingest_job.name, tenant.name, windows)
        # One re-listing run per block of consecutive tenants, not per tenant: each run is a
        # process that loads the code location (about 2 CPU-s) and a run the daemon creates
        # (see `TENANTS_PER_RUN`); the planned asset × partition writes stay the same.
        for block in tenant_blocks(context, directory, TENANTS_PER_RUN):
            first, last = block[0], block[-1]
            yield dg.RunRequest(
                run_key=f"relist:{first}..{last}:{now:%Y-%m-%dT%H}",
                job_name=relist_job.name,
                tags=partition_range_tags(
                    first, windows[0].start, windows[-1].start, through_tenant=last
                ),
            )

    return late_blob_relist


def _late_blob_runs(
    context: dg.SensorEvaluationContext,
    storage: StorageResource,
    job_name: str,
    tenant: str,
    windows: list[Window],
):
    """Runs of the partitions whose saved listing names blobs they lack (disk only)."""
    grown: dict[datetime, set[str]] = {}
    for content_type in CONTENT_TYPES:
        for change in changed_windows(
            storage.layout(), tenant=tenant, content_type=content_type.name, windows=windows
        ):
            grown.setdefault(change.window.start, set()).update(change.new_content_ids)
    for start, content_ids in sorted(grown.items()):
        key = partition_key_for(tenant, start)
        digest = hashlib.sha256("|".join(sorted(content_ids)).encode()).hexdigest()[:16]
        late = f"{key}:{digest}"
        # Dagster skips a run key it has seen, so a re-run that failed would never be
        # requested again: count the earlier attempts for these blobs into the key, and wait
        # while one is still queued or running.
        earlier = context.instance.get_runs(filters=dg.RunsFilter(tags={LATE_BLOBS_TAG: late}))
        if any(not run.is_finished for run in earlier):
            continue
        context.log.info(f"{key}: {len(content_ids)} late blob(s), attempt {len(earlier) + 1}")
        yield dg.RunRequest(
            run_key=f"{late}:{len(earlier)}",
            job_name=job_name,
            partition_key=key,
            tags={LATE_BLOBS_TAG: late},
        )
