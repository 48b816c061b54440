"""The `service_health` asset: each tenant's Microsoft 365 service health issues from Microsoft
Graph, landed incrementally, with its job and hourly schedule.

Partitioned by tenant only, and run hourly by a schedule, rather than hourly-partitioned like
the audit tables: the Activity API is asked per availability window, so an hour is a natural
unit of work there, but Graph's issues collection has no window, only "modified since"; an issue
spans hours and keeps changing after them, and one tenant has one state (its watermark and its
latest versions). An hourly partition would own nothing of its own (re-running an old hour could
only fetch today's state again), whereas a tenant partition is exactly the unit that is
incremental and idempotent. Each tick materializes every tenant's partition once.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import dagster as dg

from o365_pipeline.defs.failures import reported_as_failure
from o365_pipeline.defs.partitions import TENANT_PARTITIONS_NAME
from o365_pipeline.defs.resources import ManagementApiResource, StorageResource
from o365_pipeline.defs.schedules import tenant_has_partitions
from o365_pipeline.pipeline.service_health import ServiceHealthReport, land_service_health
from o365_pipeline.tenants import Tenant
from o365_pipeline.tenants.directory import TenantDirectory, as_directory

SERVICE_HEALTH_KEY = dg.AssetKey("service_health")
SERVICE_HEALTH_GROUP = "service_health"
SERVICE_HEALTH_JOB_NAME = "service_health_refresh"
SCHEDULE_MINUTE = 5  # past each hour


def tenant_partitions(tenants: Sequence[Tenant] | None = None) -> dg.PartitionsDefinition:
    """One partition per tenant: the fixed list, else the registry's dynamic set (the same one
    the audit tables' tenant dimension uses, kept by the registry sensor).
    """
    if tenants is not None:
        return dg.StaticPartitionsDefinition([tenant.name for tenant in tenants])
    return dg.DynamicPartitionsDefinition(name=TENANT_PARTITIONS_NAME)


def build_service_health_asset(
    tenants: TenantDirectory | Sequence[Tenant], partitions: dg.PartitionsDefinition
) -> dg.AssetsDefinition:
    """The asset that lands one tenant's service health issues per materialization."""
    directory = as_directory(tenants)

    @dg.asset(
        key=SERVICE_HEALTH_KEY,
        partitions_def=partitions,
        group_name=SERVICE_HEALTH_GROUP,
        kinds={"graph", "parquet", "duckdb"},
        description="Microsoft 365 service health issues (Microsoft Graph, ServiceHealth.Read."
        "All), one Parquet file per tenant with each issue's latest version; incremental by "
        "lastModifiedDateTime. Tenant-partitioned and run hourly (see the module docstring).",
    )
    def service_health(
        context: dg.AssetExecutionContext,
        management_api: ManagementApiResource,
        storage: StorageResource,
    ) -> dg.MaterializeResult:
        name = str(context.partition_key)
        with reported_as_failure():
            tenant = directory.get(name)
            client = management_api.graph_client_for(tenant, directory.all(), directory.entry(name))
            before = client.stats.copy()
            report = land_service_health(
                client,
                storage.layout().root,
                tenant=name,
                clock=lambda: datetime.now(UTC),
                store=storage.object_store(),
            )
        stats = client.stats.since(before)
        return dg.MaterializeResult(metadata={**_metadata(report), "requests": stats.requests})

    return service_health


def build_service_health_job() -> "dg.UnresolvedAssetJobDefinition":
    """The job the schedule launches: the service_health asset for one tenant."""
    return dg.define_asset_job(
        SERVICE_HEALTH_JOB_NAME,
        selection=dg.AssetSelection.assets(SERVICE_HEALTH_KEY),
        description="Land one tenant's service health issues modified since its watermark.",
    )


def build_service_health_schedule(
    job: "dg.UnresolvedAssetJobDefinition", tenants: TenantDirectory | Sequence[Tenant]
) -> dg.ScheduleDefinition:
    """Every hour, a few minutes past, one run per served tenant (tenants read at each tick;
    one whose partition was removed drops out). Stopped until switched on, like the ingest
    schedule.
    """
    directory = as_directory(tenants)

    @dg.schedule(
        name="hourly_service_health",
        job=job,
        cron_schedule=f"{SCHEDULE_MINUTE} * * * *",
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )
    def hourly_service_health(context: dg.ScheduleEvaluationContext):
        tick = context.scheduled_execution_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
        for tenant in directory.all():
            if tenant_has_partitions(context, tenant.name):
                yield dg.RunRequest(run_key=f"{tenant.name}@{tick}", partition_key=tenant.name)

    return hourly_service_health


def _metadata(report: ServiceHealthReport) -> dict[str, object]:
    return {
        "tenant": report.tenant,
        "path": str(report.path),
        "since": report.since.isoformat() if report.since else "(first run: every issue)",
        "watermark": report.watermark.isoformat() if report.watermark else "",
        "issues_fetched": report.fetched,
        "issues_new": report.new,
        "issues_updated": report.updated,
        "issues_unchanged": report.unchanged,
        "issues_stored": report.stored,
        "issues_open": report.open_issues,
    }
