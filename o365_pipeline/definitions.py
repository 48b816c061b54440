"""The composition root: the one place that chooses the endpoint (a real tenant's API or the
local emulator) and assembles the Dagster definitions from the typed settings.

A deployment is **local** when `O365_CLIENT_ID` is unset: the emulator is started on demand
(one background service per data folder) and plays the demo tenants plus any registered ones.
Otherwise it is **real**: the shared app registration, and the cloud's hosts or explicit base
URLs and CA bundle. Below this module everything sees only base URLs, a CA bundle and
credentials; this is the only module outside `o365_emulator` that imports it. `workspace.yaml`
and `dagster dev` load `defs` (lazily, through `@dg.definitions`).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import dagster as dg
from pydantic import Field

from o365_emulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from o365_emulator.embedded import EmbeddedEmulator, embedded_emulator
from o365_pipeline.api.settings import ClientSecret
from o365_pipeline.config import Settings, load_settings
from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.defs.assets import (
    AUDIT_GROUP,
    LISTINGS_GROUP,
    audit_key,
    build_landing_assets,
    build_subscriptions_asset,
)
from o365_pipeline.defs.checks import build_freshness_check
from o365_pipeline.defs.daily_tables import (
    build_daily_table_asset,
    build_daily_tables_job,
    build_daily_tables_schedule,
)
from o365_pipeline.defs.detections import (
    build_detections_asset,
    build_detections_job,
    build_detections_schedule,
)
from o365_pipeline.defs.notifications import build_notification_sensor
from o365_pipeline.defs.partitions import audit_partitions, daily_partitions
from o365_pipeline.defs.reports import (
    build_daily_report_asset,
    build_daily_report_job,
    build_daily_report_schedule,
)
from o365_pipeline.defs.resources import ManagementApiResource, StorageResource
from o365_pipeline.defs.schedules import build_hourly_schedule
from o365_pipeline.defs.sensors import build_late_blob_sensor, build_tenant_registry_sensor
from o365_pipeline.defs.service_health import (
    build_service_health_asset,
    build_service_health_job,
    build_service_health_schedule,
    tenant_partitions,
)
from o365_pipeline.storage.postgres import DatabaseUrl
from o365_pipeline.tenants import Tenant
from o365_pipeline.tenants.credentials import Endpoint, shared_app_endpoint
from o365_pipeline.tenants.directory import RegistryTenants, directory_for, open_registry

log = logging.getLogger(__name__)
INGEST_JOB_NAME = "ingest_windows"
RELIST_JOB_NAME = "relist_windows"


class LocalEmulatorApiResource(ManagementApiResource):
    """The Management API of a local deployment: the emulator, started on first use."""

    client_id: str = Field(default=DEFAULT_CLIENT_ID, description="The emulator's one app.")
    emulator_state_dir: str = Field(
        default="data/.emulator", description="Where the emulator keeps its CA and state."
    )
    emulator_records_per_hour: int = Field(
        default=40, description="Records per tenant, content type and hour."
    )
    registry_file: str | None = Field(
        default=None,
        description="The tenant registry: tenants awaiting admin consent are played "
        "unconsented (tokens without roles until the emulator's consent page is accepted).",
    )
    registry_database_url: str | None = Field(
        default=None, description="Or the database holding it (postgresql://…)."
    )
    registry_database_password: str | None = Field(
        default=None, description="Its password (an EnvVar: O365_POSTGRES_PASSWORD)."
    )

    def emulator(self, all_tenants: tuple[Tenant, ...]) -> EmbeddedEmulator:
        """The on-demand emulator serving `all_tenants` and the registry's tenants awaiting
        admin consent (started, or restarted, as needed). Those are read here, not passed in,
        so a command and a run ask for the same emulator whatever tenants they serve.
        """
        database = (
            DatabaseUrl(self.registry_database_url, self.registry_database_password)
            if self.registry_database_url
            else None
        )
        registry = (
            open_registry(self.registry_file, database) if self.registry_file or database else None
        )
        pending = registry.awaiting_consent() if registry else ()
        awaiting = tuple(entry.tenant_id for entry in pending)
        served = tuple(tenant.tenant_id for tenant in all_tenants)
        return embedded_emulator(
            tenant_ids=served + tuple(tenant for tenant in awaiting if tenant not in served),
            state_dir=Path(self.emulator_state_dir).resolve(),
            records_per_hour=self.emulator_records_per_hour,
            consent_required=awaiting,
        )

    def endpoint(self, all_tenants: tuple[Tenant, ...]) -> Endpoint:
        """The running emulator's base URL and CA, and its one app registration."""
        emulator = self.emulator(all_tenants)
        return Endpoint(
            api_base_url=emulator.base_url,
            login_base_url=emulator.base_url,
            ca_bundle=str(emulator.ca_cert_path),
            client_id=DEFAULT_CLIENT_ID,
            credential=ClientSecret(DEFAULT_CLIENT_SECRET),
            per_tenant_apps=False,
            graph_base_url=emulator.base_url,
        )


def management_api_for(settings: Settings) -> ManagementApiResource:
    """The API resource of this deployment; the secret reaches runs only as an `EnvVar`."""
    data_dir = settings.resolved_data_dir
    tuning = {
        "publisher_id": settings.publisher_id,
        "rate_limit_per_minute": settings.rate_limit_per_minute,
        "rate_limit_folder": str(data_dir / ".ratelimit"),
        # Several machines share the budget in the database; its password reaches runs only
        # as an EnvVar.
        "rate_limit_database_url": settings.postgres_url,
        "rate_limit_database_password": _postgres_password(settings),
        "timeout_seconds": settings.read_timeout_seconds,
        "max_retry_attempts": settings.max_retry_attempts,
        "max_retry_wait_seconds": settings.max_retry_wait_seconds,
        "request_deadline_seconds": settings.request_deadline_seconds,
        "window_deadline_seconds": settings.window_deadline_seconds,
        "max_pages_per_window": settings.max_pages_per_window,
    }
    if settings.is_local:
        return LocalEmulatorApiResource(
            emulator_state_dir=str(data_dir / ".emulator"),
            emulator_records_per_hour=settings.emulator_records_per_hour,
            registry_file=str(settings.registry_file),
            registry_database_url=settings.postgres_url,
            registry_database_password=_postgres_password(settings),
            **tuning,
        )
    return ManagementApiResource(
        client_id=settings.client_id,
        client_secret=dg.EnvVar("O365_CLIENT_SECRET") if settings.client_secret else None,
        client_certificate_file=_text(settings.client_certificate_file),
        client_certificate_thumbprint=settings.client_certificate_thumbprint,
        cloud=settings.cloud,
        api_base_url=settings.api_base_url,
        login_base_url=settings.login_base_url,
        graph_base_url=settings.graph_base_url,
        ca_bundle=_text(settings.ca_bundle),
        **tuning,
    )


def endpoint_for(settings: Settings, tenants: tuple[Tenant, ...]) -> Endpoint:
    """Where the CLI's calls go: the same choice as the Dagster resource's, without Dagster."""
    if settings.is_local:
        return LocalEmulatorApiResource(
            emulator_state_dir=str(settings.resolved_data_dir / ".emulator"),
            emulator_records_per_hour=settings.emulator_records_per_hour,
            registry_file=str(settings.registry_file),
            registry_database_url=settings.postgres_url,
            registry_database_password=_plain_password(settings),
        ).endpoint(tenants)
    return shared_app_endpoint(settings)


def local_emulator(settings: Settings, tenants: tuple[Tenant, ...]) -> EmbeddedEmulator:
    """The local deployment's emulator (the demo asks it for ground truth)."""
    return LocalEmulatorApiResource(
        emulator_state_dir=str(settings.resolved_data_dir / ".emulator"),
        emulator_records_per_hour=settings.emulator_records_per_hour,
        registry_file=str(settings.registry_file),
        registry_database_url=settings.postgres_url,
        registry_database_password=_plain_password(settings),
    ).emulator(tenants)


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    """Assemble assets, jobs, schedules, sensors and resources for the configured tenants."""
    settings = settings or load_settings()
    tenants: RegistryTenants = directory_for(settings)
    partitions = audit_partitions(start=settings.partition_start_time)
    content_assets = build_landing_assets(CONTENT_TYPES, tenants, partitions)
    health_partitions = tenant_partitions()
    health_job = build_service_health_job()
    report_job = build_daily_report_job()
    detections_job = build_detections_job()
    freshness_checks = [
        build_freshness_check(
            audit_key(content_type),
            content_type.name,
            tenants,
            timedelta(hours=settings.freshness_hours),
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
    relist_job = dg.define_asset_job(
        RELIST_JOB_NAME,
        selection=dg.AssetSelection.groups(LISTINGS_GROUP),
        description="Re-list a range of windows (the late-blob sensor requests it hourly).",
    )
    settle_delay = timedelta(hours=settings.daily_settle_hours)
    daily_tables = [
        build_daily_table_asset(
            content_type,
            daily_partitions(start=settings.partition_start_time),
            settle_delay=settle_delay,
        )
        for content_type in CONTENT_TYPES
    ]
    daily_job = build_daily_tables_job(daily_tables)
    return dg.Definitions(
        # One process per run: ingest is I/O-bound, and each step process would load the code
        # location again (about 2 CPU-s each); a run's windows overlap inside its steps instead.
        executor=dg.in_process_executor,
        assets=[
            build_subscriptions_asset(tenants),
            *content_assets,
            *daily_tables,
            build_service_health_asset(tenants, health_partitions),
            build_daily_report_asset(daily_partitions(start=settings.partition_start_time)),
            build_detections_asset(
                daily_partitions(start=settings.partition_start_time, include_today=True)
            ),
        ],
        asset_checks=freshness_checks,
        jobs=[
            ingest_job,
            relist_job,
            freshness_job,
            health_job,
            daily_job,
            detections_job,
            report_job,
        ],
        schedules=[
            build_hourly_schedule(
                ingest_job,
                tenants,
                lag=timedelta(minutes=settings.schedule_lag_minutes),
                windows_per_tick=settings.schedule_windows,
            ),
            build_service_health_schedule(health_job, tenants),
            build_daily_tables_schedule(daily_job, tenants, settle_delay=settle_delay),
            build_daily_report_schedule(report_job, tenants),
            build_detections_schedule(detections_job, tenants),
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
                relist_job,
                tenants,
                lookback=timedelta(hours=settings.relist_hours),
                settle=timedelta(hours=2),
            ),
            build_notification_sensor(
                ingest_job,
                tenants,
                partition_start=settings.partition_start_time,
                default_status=dg.DefaultSensorStatus.RUNNING
                if settings.webhook_address
                else dg.DefaultSensorStatus.STOPPED,
            ),
        ],
        resources={
            "management_api": management_api_for(settings),
            "storage": StorageResource(
                data_dir=str(settings.resolved_data_dir),
                object_store_url=settings.object_store,
                object_store_options=settings.object_store_options,
            ),
        },
    )


@dg.definitions
def defs() -> dg.Definitions:
    """What `workspace.yaml` loads: the definitions of this process's settings."""
    settings = load_settings()
    for warning in surroundings_warnings(settings):
        log.warning(warning)
    return build_definitions(settings)


def surroundings_warnings(settings: Settings) -> list[str]:
    """What `dagster dev` (or any process loading the code location) should be told before a
    user wonders where the runs or the data went: no persistent instance, an instance other
    than the data folder's own, or a data folder with nothing landed yet.
    """
    warnings = []
    own_home = settings.resolved_data_dir / "dagster_home"
    if settings.dagster_home is None:
        warnings.append(
            "DAGSTER_HOME is not set: Dagster keeps runs and materializations in a temporary "
            f"instance that is gone when it stops. Set DAGSTER_HOME={own_home} (the demo "
            "writes it into .env) to see what the CLI and the schedule ran."
        )
    elif settings.instance_home != own_home.resolve():
        warnings.append(
            f"DAGSTER_HOME={settings.instance_home} is not this data folder's instance "
            f"({own_home}): runs launched by `o365-pipeline backfill` or the demo are recorded "
            "there, not here."
        )
    if not any((settings.resolved_data_dir / "audit").glob("*/tenant=*")):
        warnings.append(
            f"No audit data under {settings.resolved_data_dir} yet (O365_DATA_DIR): run "
            "`o365-pipeline demo` here, or point O365_DATA_DIR at the folder that holds it."
        )
    return warnings


def _postgres_password(settings: Settings) -> dg.EnvVar | None:
    return dg.EnvVar("O365_POSTGRES_PASSWORD") if settings.postgres_password else None


def _plain_password(settings: Settings) -> str | None:
    """The password itself, for resources built outside a run (no EnvVar is resolved there)."""
    password = settings.postgres_password
    return password.get_secret_value() if password else None


def _text(path: Path | None) -> str | None:
    return str(path) if path else None
