"""The one `Definitions` object that `workspace.yaml` (and `dagster dev`) loads.

With no environment variables set it targets the embedded emulator and the demo tenants, so
`dagster dev` works with zero configuration. Environment variables select a real tenant:
`O365_TENANT_ID`, `O365_TENANT_NAME`, `O365_CLIENT_ID`, `O365_CLIENT_SECRET`, `O365_CLOUD`,
and optionally `O365_DATA_DIR`, `O365_EMULATOR_RECORDS_PER_HOUR`,
`O365_SCHEDULE_LAG_MINUTES`, `O365_SCHEDULE_WINDOWS`.
"""

from __future__ import annotations

import os
from datetime import timedelta

import dagster as dg

from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.defs.assets import (
    AUDIT_GROUP,
    LISTINGS_GROUP,
    audit_key,
    build_content_type_assets,
    build_subscriptions_asset,
)
from o365_pipeline.defs.checks import build_freshness_check
from o365_pipeline.defs.partitions import audit_partitions
from o365_pipeline.defs.resources import ManagementApiResource, StorageResource
from o365_pipeline.defs.schedules import build_hourly_schedule
from o365_pipeline.defs.sensors import build_late_blob_sensor, build_tenant_registry_sensor
from o365_pipeline.tenants import tenants_from_environment
from o365_pipeline.tenants.directory import RegistryTenants
from o365_pipeline.tenants.registry import TenantRegistry, registry_path

INGEST_JOB_NAME = "ingest_windows"


def management_api_from_environment(data_dir: str) -> ManagementApiResource:
    """A real tenant when `O365_CLIENT_ID` is set (secrets via `EnvVar`), else the emulator."""
    if not os.environ.get("O365_CLIENT_ID"):
        return ManagementApiResource(
            rate_limit_folder=f"{data_dir}/.ratelimit",
            emulator_state_dir=f"{data_dir}/.emulator",
            emulator_records_per_hour=int(os.environ.get("O365_EMULATOR_RECORDS_PER_HOUR", "40")),
        )
    return ManagementApiResource(
        client_id=dg.EnvVar("O365_CLIENT_ID"),
        client_secret=dg.EnvVar("O365_CLIENT_SECRET"),
        cloud=os.environ.get("O365_CLOUD", "commercial"),
        api_base_url=os.environ.get("O365_API_BASE_URL") or None,
        login_base_url=os.environ.get("O365_LOGIN_BASE_URL") or None,
        ca_bundle=os.environ.get("O365_CA_BUNDLE") or None,
        publisher_id=os.environ.get("O365_PUBLISHER_ID") or None,
        rate_limit_per_minute=float(os.environ.get("O365_RATE_LIMIT_PER_MINUTE", "1800")),
        rate_limit_folder=f"{data_dir}/.ratelimit",
    )


def tenant_directory(data_dir: str) -> RegistryTenants:
    """The registry's tenants; before any registration, the environment's (or the demo's)."""
    return RegistryTenants(
        TenantRegistry(registry_path(data_dir)), fallback=tenants_from_environment()
    )


def build_definitions() -> dg.Definitions:
    """Assemble assets, job, schedule and resources for the configured tenants."""
    data_dir = os.environ.get("O365_DATA_DIR", "data")
    tenants = tenant_directory(data_dir)
    partitions = audit_partitions()
    content_assets = [
        asset
        for content_type in CONTENT_TYPES
        for asset in build_content_type_assets(content_type, tenants, partitions)
    ]
    freshness_checks = [
        build_freshness_check(
            audit_key(content_type),
            content_type.name,
            tenants,
            timedelta(hours=float(os.environ.get("O365_FRESHNESS_HOURS", "6"))),
        )
        for content_type in CONTENT_TYPES
    ]
    freshness_job = dg.define_asset_job(
        "freshness_checks",
        selection=dg.AssetSelection.checks(*freshness_checks),
        description="Flag tenants whose newest landed content is older than the threshold.",
    )
    ingest_job = dg.define_asset_job(
        INGEST_JOB_NAME,
        selection=dg.AssetSelection.groups(LISTINGS_GROUP, AUDIT_GROUP).without_checks()
        | dg.AssetSelection.checks_for_assets(*content_assets)
        - dg.AssetSelection.checks(*freshness_checks),
        description="List and land every content type for one tenant × hour window.",
    )
    schedule = build_hourly_schedule(
        ingest_job,
        tenants,
        lag=timedelta(minutes=int(os.environ.get("O365_SCHEDULE_LAG_MINUTES", "15"))),
        windows_per_tick=int(os.environ.get("O365_SCHEDULE_WINDOWS", "2")),
    )
    return dg.Definitions(
        assets=[build_subscriptions_asset(tenants), *content_assets],
        asset_checks=freshness_checks,
        jobs=[ingest_job, freshness_job],
        schedules=[
            schedule,
            dg.ScheduleDefinition(
                name="hourly_freshness_checks",
                job=freshness_job,
                cron_schedule="45 * * * *",
                execution_timezone="UTC",
            ),
        ],
        sensors=[
            build_tenant_registry_sensor(tenants),
            build_late_blob_sensor(
                ingest_job,
                tenants,
                lookback=timedelta(hours=int(os.environ.get("O365_RELIST_HOURS", "24"))),
                settle=timedelta(hours=2),
            ),
        ],
        resources={
            "management_api": management_api_from_environment(data_dir),
            "storage": StorageResource(
                data_dir=data_dir,
                object_store_url=os.environ.get("O365_OBJECT_STORE") or None,
                object_store_options=os.environ.get("O365_OBJECT_STORE_OPTIONS") or None,
            ),
        },
    )


defs = build_definitions()
