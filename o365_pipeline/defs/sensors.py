"""The sensor that keeps the tenant partitions equal to the tenant registry: a tenant added with
`o365-pipeline tenants add` gets its partitions within a tick, a removed one loses them (and so
drops out of the schedule), with no code change and no restart of the UI.
"""

from __future__ import annotations

import dagster as dg

from o365_pipeline.defs.partitions import TENANT_PARTITIONS_NAME
from o365_pipeline.tenant_directory import TenantDirectory


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
