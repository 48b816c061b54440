"""The assets: API subscriptions, and for each content type a content listing and an audit
table, hourly-partitioned by availability window and by tenant.

Each asset body decodes its partition, calls one core function and reports metadata; the
work itself lives in `o365_pipeline.pipeline`.
"""

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
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
    merged_check_results,
)
from o365_pipeline.defs.column_schemas import audit_asset_metadata
from o365_pipeline.defs.failures import reported_as_failure
from o365_pipeline.defs.metadata import (
    audit_metadata,
    drift_metadata,
    drift_sentence,
    listing_metadata,
    publication_metadata,
    request_metadata,
    subscriptions_metadata,
)
from o365_pipeline.defs.partitions import (
    decode_partitions,
    partition_key_for,
    windows_of_day_mapping,
)
from o365_pipeline.defs.resources import ManagementApiResource, StorageResource
from o365_pipeline.pipeline.permissions import missing_permission_warning
from o365_pipeline.pipeline.subscriptions import ensure_subscriptions
from o365_pipeline.pipeline.window_landing import WindowFailure, WindowLanding, land_windows
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


def audit_days_deps(content_types: Sequence[ContentType] = CONTENT_TYPES) -> list[dg.AssetDep]:
    """Dependencies of a day × tenant asset on the 24 hourly windows of that day (same tenant)
    of each content type's audit table.
    """
    return [
        dg.AssetDep(audit_key(content_type), partition_mapping=windows_of_day_mapping())
        for content_type in content_types
    ]


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


def build_landing_assets(
    content_types: Sequence[ContentType],
    tenants: TenantDirectory | Sequence[Tenant],
    partitions: dg.PartitionsDefinition,
    *,
    name: str | None = None,
) -> list[dg.AssetsDefinition]:
    """The listing and audit-table assets of `content_types` (one definition, five uses),
    computed together: one step lists and lands every window of the run, every selected content
    type at once, through one client per tenant.

    Why one step and a single-run backfill policy: each step costs a code-location load (and,
    with a multiprocess executor, a process), and the in-process executor runs steps one after
    the other, so five steps would wait for the network five times over; a window's listing
    and landing are two halves of one unit of work; and a range of windows in one run overlaps
    their network waits under the client's connection limit and the tenant's request budget.
    Selecting some of the assets (the UI's subsets) lands only those. Each window is still
    reported on its own: its own materializations (an `AssetMaterialization` per partition),
    its own ledger row and file; a window that fails is named and fails only its own
    partitions (the others of the run are materialized).
    """
    directory = as_directory(tenants)
    if name is None:  # one content type alone gets a step name of its own
        name = f"land_{content_types[0].slug}" if len(content_types) == 1 else "land_windows"
    specs: list[dg.AssetSpec] = []
    check_specs: list[dg.AssetCheckSpec] = []
    for content_type in content_types:
        list_key, table_key = listing_key(content_type), audit_key(content_type)
        specs += [
            dg.AssetSpec(
                list_key,
                deps=[SUBSCRIPTIONS_KEY],
                group_name=LISTINGS_GROUP,
                kinds={"o365", "parquet"},
                skippable=True,
                description=f"Blobs of {content_type.name} that became available in the window.",
            ),
            dg.AssetSpec(
                table_key,
                deps=[list_key],
                group_name=AUDIT_GROUP,
                kinds={"parquet", "duckdb"},
                skippable=True,
                description=f"{content_type.description} One Parquet file per tenant and hour.",
                metadata=audit_asset_metadata(content_type),
            ),
        ]
        check_specs += [*listing_check_specs(list_key), *audit_check_specs(table_key)]

    @dg.multi_asset(
        name=name,
        specs=specs,
        check_specs=check_specs,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        can_subset=True,
        pool=API_POOL,
    )
    def land(
        context: dg.AssetExecutionContext,
        management_api: ManagementApiResource,
        storage: StorageResource,
    ) -> Iterator[dg.AssetMaterialization | dg.AssetCheckResult]:
        selected = context.selected_asset_keys
        chosen = [
            kind
            for kind in content_types
            if listing_key(kind) in selected or audit_key(kind) in selected
        ]
        run = decode_partitions(context)
        checks: list[tuple[str, dg.AssetCheckResult]] = []
        failures: list[WindowFailure] = []
        for tenant, windows in run.items():
            with reported_as_failure():
                client = management_api.client_for(
                    directory.get(tenant), directory.all(), directory.entry(tenant)
                )
            before = client.stats.copy()

            def land_type(
                client: ManagementApiClient, tenant: str, windows: list, kind: ContentType
            ) -> list[WindowLanding | WindowFailure]:
                return list(
                    land_windows(
                        client,
                        storage.layout(),
                        storage.object_store(),
                        tenant=tenant,
                        content_type=kind.name,
                        windows=windows,
                        list_it=listing_key(kind) in selected,
                        ingest_it=audit_key(kind) in selected,
                        clock=lambda: datetime.now(UTC),
                    )
                )

            with ThreadPoolExecutor(max_workers=len(chosen), thread_name_prefix="type") as pool:
                landings = {
                    pool.submit(land_type, client, tenant, windows, kind): kind for kind in chosen
                }
                for done in as_completed(landings):
                    kind = landings[done]
                    outcomes = done.result()
                    landed = 0
                    for outcome in outcomes:
                        if isinstance(outcome, WindowFailure):
                            failures.append(outcome)
                            context.log.error(
                                f"{tenant} {kind.name} {outcome.window.label}: {outcome.error}"
                            )
                            continue
                        landed += 1
                        key = partition_key_for(tenant, outcome.window.start)
                        # A run of one window and one content type: its requests are the run's.
                        alone = len(run) == 1 and len(windows) == 1 and len(chosen) == 1
                        costs = request_metadata(client.stats.since(before)) if alone else {}
                        yield from _materializations(
                            outcome, key, listing_key(kind), audit_key(kind), costs, context
                        )
                        checks += _check_results(outcome, listing_key(kind), audit_key(kind))
                    context.log.info(
                        f"{tenant}: {landed} of {len(windows)} window(s) of {kind.name} landed"
                    )
                    warning = missing_permission_warning(client, kind.name)
                    if warning:
                        context.log.warning(warning)
            spent = client.stats.since(before)
            context.log.info(
                f"{tenant}: {spent.requests} requests, {spent.retries} retries, "
                f"{spent.throttled} throttled, {spent.seconds_waited:.1f} s waited"
            )
        wanted = context.selected_asset_check_keys
        yield from (result for result in merged_check_results(checks) if _key(result) in wanted)
        _fail_for(failures, sum(len(windows) for windows in run.values()) * len(chosen))

    return [land]


def _materializations(
    outcome: WindowLanding,
    key: dg.MultiPartitionKey,
    list_key: dg.AssetKey,
    table_key: dg.AssetKey,
    costs: dict,
    context: dg.AssetExecutionContext,
) -> Iterator[dg.AssetMaterialization]:
    """The window's materializations (`costs`: its request counts, when known alone)."""
    published = publication_metadata(outcome.published)
    if outcome.listing is not None:
        yield dg.AssetMaterialization(
            list_key,
            partition=key,
            metadata={**listing_metadata(outcome.listing), **published},
        )
    if outcome.ingest is not None:
        drift = outcome.drift
        if drift.any:
            context.log.warning(f"schema drift in {key}: {drift_sentence(drift)}")
        yield dg.AssetMaterialization(
            table_key,
            partition=key,
            metadata={
                **audit_metadata(outcome.ingest, outcome.summary),
                **costs,
                **drift_metadata(drift),
                **published,
            },
        )


def _check_results(
    outcome: WindowLanding, list_key: dg.AssetKey, table_key: dg.AssetKey
) -> list[tuple[str, dg.AssetCheckResult]]:
    """The window's check results, each with the window it is about."""
    results = []
    if outcome.listing is not None:
        results += listing_check_results(list_key, outcome.listing, table_key.to_user_string())
    if outcome.ingest is not None:
        results += audit_check_results(
            table_key, outcome.ingest, outcome.summary, outcome.verification, outcome.drift
        )
    return [(outcome.window.label, result) for result in results]


def _key(result: dg.AssetCheckResult) -> dg.AssetCheckKey:
    return dg.AssetCheckKey(result.asset_key, result.check_name)


def _fail_for(failures: list[WindowFailure], windows: int) -> None:
    """Fail the step naming every failed window (the landed ones stay materialized); a run of
    one window fails with that window's own error, retry policy included.
    """
    if not failures:
        return
    if windows == 1:
        with reported_as_failure():
            raise failures[0].error
    raise dg.Failure(
        description=f"{len(failures)} of {windows} window(s) failed (the others landed): "
        + " | ".join(f"{failure.window.label}: {failure.error}" for failure in failures[:10]),
        metadata={
            "failed_windows": dg.MetadataValue.json([failure.window.label for failure in failures])
        },
    )
