"""The assets: API subscriptions, and for each content type a content listing and an audit
table, hourly-partitioned by availability window and by tenant.

Each asset body decodes its partition, calls one core function and reports metadata; the
work itself lives in `o365_pipeline.pipeline`.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import dagster as dg

from o365_pipeline.api.client import ManagementApiClient
from o365_pipeline.api.errors import ManagementApiError
from o365_pipeline.content_types import CONTENT_TYPES, ContentType
from o365_pipeline.defs.checks import (
    audit_check_results,
    audit_check_specs,
    listing_check_results,
    listing_check_specs,
)
from o365_pipeline.defs.failures import reported_as_failure
from o365_pipeline.defs.metadata import (
    audit_metadata,
    drift_metadata,
    drift_sentence,
    listing_metadata,
    publication_metadata,
    subscriptions_metadata,
)
from o365_pipeline.defs.partitions import WindowPartition, decode_partition
from o365_pipeline.defs.resources import ManagementApiResource, StorageResource
from o365_pipeline.pipeline.audit_table import ingest_window
from o365_pipeline.pipeline.listing import list_window
from o365_pipeline.pipeline.partition_summary import summarize_partition
from o365_pipeline.pipeline.permissions import missing_permission_warning
from o365_pipeline.pipeline.publishing import WindowCopies
from o365_pipeline.pipeline.schema_report import report_schema_drift
from o365_pipeline.pipeline.subscriptions import ensure_subscriptions
from o365_pipeline.tenants import Tenant
from o365_pipeline.tenants.directory import TenantDirectory, as_directory

SUBSCRIPTIONS_KEY = dg.AssetKey("subscriptions")
LISTINGS_GROUP = "content_listings"
AUDIT_GROUP = "audit_tables"
# A Dagster concurrency pool over every step that calls the API: its limit (set on the
# instance, e.g. `concurrency: pools: default_limit: 16` in dagster.yaml or in the UI) caps
# concurrent API steps across all runs; the per-tenant request budget is the rate limiter's.
API_POOL = "o365_api"


def listing_key(content_type: ContentType) -> dg.AssetKey:
    """Asset key of a content type's listing asset."""
    return dg.AssetKey(["content_listing", content_type.slug])


def audit_key(content_type: ContentType) -> dg.AssetKey:
    """Asset key of a content type's audit table asset."""
    return dg.AssetKey(["audit", content_type.slug])


def build_subscriptions_asset(
    tenants: TenantDirectory | Sequence[Tenant],
) -> dg.AssetsDefinition:
    """The asset that makes sure all five content types are subscribed for every tenant."""
    directory = as_directory(tenants)

    @dg.asset(key=SUBSCRIPTIONS_KEY, group_name="subscriptions", kinds={"o365"})
    def subscriptions(management_api: ManagementApiResource) -> dg.MaterializeResult:
        """Activity API subscriptions: every content type enabled for every tenant.

        One tenant's refusal (auditing off, consent missing) does not stop the others: all
        are attempted, then the failed ones are named together.
        """
        statuses, failures = [], []
        served = directory.all()
        for tenant in served:
            try:
                client = management_api.client_for(tenant, served, directory.entry(tenant.name))
                statuses += ensure_subscriptions(client, tenant.name, CONTENT_TYPES)
            except ManagementApiError as error:
                failures.append(f"{tenant.name}: {error}")
        if failures:
            raise dg.Failure(
                description=f"{len(failures)} of {len(served)} tenant(s) could not be "
                "subscribed (the others were): " + " | ".join(failures),
                metadata=subscriptions_metadata(statuses),
            )
        return dg.MaterializeResult(metadata=subscriptions_metadata(statuses))

    return subscriptions


def build_content_type_assets(
    content_type: ContentType,
    tenants: TenantDirectory | Sequence[Tenant],
    partitions: dg.PartitionsDefinition,
) -> list[dg.AssetsDefinition]:
    """The listing and audit-table assets of one content type (one definition, five uses)."""
    directory = as_directory(tenants)
    table_key = audit_key(content_type)

    def client_for(management_api: ManagementApiResource, name: str) -> ManagementApiClient:
        with reported_as_failure():
            tenant = directory.get(name)
            return management_api.client_for(tenant, directory.all(), directory.entry(name))

    @dg.asset(
        key=listing_key(content_type),
        deps=[SUBSCRIPTIONS_KEY],
        partitions_def=partitions,
        group_name=LISTINGS_GROUP,
        kinds={"o365", "parquet"},
        pool=API_POOL,
        check_specs=listing_check_specs(listing_key(content_type)),
        description=f"Blobs of {content_type.name} that became available in the window.",
    )
    def content_listing(
        context: dg.AssetExecutionContext,
        management_api: ManagementApiResource,
        storage: StorageResource,
    ) -> dg.MaterializeResult:
        partition = decode_partition(context)
        client = client_for(management_api, partition.tenant)
        with reported_as_failure():
            copies = _copies(storage, content_type, partition)
            copies.fetch()
            report = list_window(
                client,
                storage.layout(),
                tenant=partition.tenant,
                content_type=content_type.name,
                window=partition.window,
                now=datetime.now(UTC),
            )
            published = publication_metadata(copies.publish())
        return dg.MaterializeResult(
            metadata={**listing_metadata(report), **published},
            check_results=listing_check_results(
                listing_key(content_type), report, table_key.to_user_string()
            ),
        )

    @dg.asset(
        key=table_key,
        deps=[listing_key(content_type)],
        partitions_def=partitions,
        group_name=AUDIT_GROUP,
        kinds={"parquet", "duckdb"},
        pool=API_POOL,
        check_specs=audit_check_specs(table_key),
        description=f"{content_type.description} One Parquet file per tenant and hour.",
    )
    def audit_table(
        context: dg.AssetExecutionContext,
        management_api: ManagementApiResource,
        storage: StorageResource,
    ) -> dg.MaterializeResult:
        partition = decode_partition(context)
        client = client_for(management_api, partition.tenant)
        with reported_as_failure():
            copies = _copies(storage, content_type, partition)
            copies.fetch()
            report = ingest_window(
                client,
                storage.layout(),
                tenant=partition.tenant,
                content_type=content_type.name,
                window=partition.window,
                clock=lambda: datetime.now(UTC),
            )
        summary = summarize_partition(report.write.path)
        drift = report_schema_drift(storage.layout(), content_type.name, report.write.path)
        with reported_as_failure():
            published = publication_metadata(copies.publish())
        if drift.any:
            context.log.warning(f"schema drift in {context.partition_key}: {drift_sentence(drift)}")
        permission_warning = missing_permission_warning(client, content_type.name)
        if permission_warning:
            context.log.warning(permission_warning)
        return dg.MaterializeResult(
            metadata={
                **audit_metadata(report, summary),
                **drift_metadata(drift),
                **({"missing_permission": permission_warning} if permission_warning else {}),
                **published,
            },
            check_results=audit_check_results(table_key, report, summary),
        )

    return [content_listing, audit_table]


def _copies(
    storage: StorageResource, content_type: ContentType, partition: WindowPartition
) -> WindowCopies:
    """The window's copies in the object store (no-ops when none is configured)."""
    return WindowCopies(
        storage.object_store(),
        storage.layout(),
        content_type.name,
        partition.tenant,
        partition.window,
    )
