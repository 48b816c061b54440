"""Partitions of the content-listing and audit-table assets: the availability window (the hour
the API's startTime/endTime select on, by contentCreated) × the tenant.

The hourly dimension starts on a fixed day (`O365_PARTITION_START`), so partitions, their data
and their run history never drop off the UI as days pass. Windows older than the API's 7-day
listing retention stay visible with what was landed; materializing one again fails at once with
the retention message (before any API call), and the CLI refuses it before launching a run.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import dagster as dg

from o365_pipeline.api.windows import Window
from o365_pipeline.config import DEFAULT_PARTITION_START
from o365_pipeline.tenants import Tenant

WINDOW_DIMENSION = "window"
DAY_DIMENSION = "day"
TENANT_DIMENSION = "tenant"
TENANT_PARTITIONS_NAME = "tenants"
DEFAULT_START = datetime.strptime(DEFAULT_PARTITION_START, "%Y-%m-%d").replace(tzinfo=UTC)


def window_partitions(start: datetime = DEFAULT_START) -> dg.HourlyPartitionsDefinition:
    """Hourly windows from the fixed `start` (UTC midnight) to the last complete hour."""
    return dg.HourlyPartitionsDefinition(start_date=start.strftime("%Y-%m-%d-%H:%M"))


def audit_partitions(
    tenants: Sequence[Tenant] | None = None, *, start: datetime = DEFAULT_START
) -> dg.MultiPartitionsDefinition:
    """Window × tenant, so the same assets serve one tenant or fifty.

    With `tenants`, the tenant dimension is that fixed list; without, it is dynamic: the
    registry sensor (and `o365-pipeline tenants add`) adds and removes tenants at run time.
    """
    tenant_dimension = (
        dg.StaticPartitionsDefinition([tenant.name for tenant in tenants])
        if tenants is not None
        else dg.DynamicPartitionsDefinition(name=TENANT_PARTITIONS_NAME)
    )
    return dg.MultiPartitionsDefinition(
        {WINDOW_DIMENSION: window_partitions(start), TENANT_DIMENSION: tenant_dimension}
    )


def daily_partitions(
    tenants: Sequence[Tenant] | None = None,
    *,
    start: datetime = DEFAULT_START,
    include_today: bool = False,
) -> dg.MultiPartitionsDefinition:
    """UTC day × tenant, for the assets that work on a whole day of one tenant (reports,
    detections, daily tables): the same fixed start and the same tenant dimension as the hourly
    audit partitions, so a day lines up with its 24 windows. `include_today` adds the day in
    progress (detections run on the day so far; daily tables wait for a settled day).
    """
    tenant_dimension = (
        dg.StaticPartitionsDefinition([tenant.name for tenant in tenants])
        if tenants is not None
        else dg.DynamicPartitionsDefinition(name=TENANT_PARTITIONS_NAME)
    )
    return dg.MultiPartitionsDefinition(
        {
            DAY_DIMENSION: dg.DailyPartitionsDefinition(
                start_date=start.strftime("%Y-%m-%d"), end_offset=1 if include_today else 0
            ),
            TENANT_DIMENSION: tenant_dimension,
        }
    )


def windows_of_day_mapping() -> dg.MultiPartitionMapping:
    """How a day × tenant partition depends on the hourly window × tenant partitions: its 24
    windows of the same tenant (the hourly windows inside the day's time window).
    """
    with warnings.catch_warnings():  # MultiPartitionMapping is beta in Dagster 1.13
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.MultiPartitionMapping(
            {
                WINDOW_DIMENSION: dg.DimensionPartitionMapping(
                    DAY_DIMENSION, dg.TimeWindowPartitionMapping()
                ),
                TENANT_DIMENSION: dg.DimensionPartitionMapping(
                    TENANT_DIMENSION, dg.IdentityPartitionMapping()
                ),
            }
        )


@dataclass(frozen=True)
class DayPartition:
    """A daily partition key decoded into the tenant name and its UTC day."""

    tenant: str
    day: date


def decode_day_partition(context: dg.AssetExecutionContext) -> DayPartition:
    """Read the tenant and the UTC day out of the running asset's day × tenant partition key."""
    key = context.partition_key
    if not isinstance(key, dg.MultiPartitionKey):  # a run tagged with the plain string key
        key = context.assets_def.partitions_def.get_partition_key_from_str(str(key))
    keys = key.keys_by_dimension
    day = datetime.strptime(keys[DAY_DIMENSION], "%Y-%m-%d").date()
    return DayPartition(tenant=keys[TENANT_DIMENSION], day=day)


def day_partition_key_for(tenant: str, day: date) -> dg.MultiPartitionKey:
    """The partition key of one tenant's UTC `day` in `daily_partitions`."""
    return dg.MultiPartitionKey({DAY_DIMENSION: day.isoformat(), TENANT_DIMENSION: tenant})


def sync_tenant_partitions(
    instance: dg.DagsterInstance, tenants: Sequence[Tenant]
) -> tuple[list[str], list[str]]:
    """Make the instance's dynamic tenant partitions exactly `tenants`; (added, removed)."""
    current = set(instance.get_dynamic_partitions(TENANT_PARTITIONS_NAME))
    wanted = [tenant.name for tenant in tenants]
    added = [name for name in wanted if name not in current]
    removed = sorted(current - set(wanted))
    if added:
        instance.add_dynamic_partitions(TENANT_PARTITIONS_NAME, added)
    for name in removed:
        instance.delete_dynamic_partition(TENANT_PARTITIONS_NAME, name)
    return added, removed


def partition_key_for(tenant: str, window_start: datetime) -> dg.MultiPartitionKey:
    """The partition key of one tenant's window starting at `window_start` (UTC hour)."""
    return dg.MultiPartitionKey(
        {
            WINDOW_DIMENSION: window_start.astimezone(UTC).strftime("%Y-%m-%d-%H:%M"),
            TENANT_DIMENSION: tenant,
        }
    )


def partition_range_tags(
    tenant: str, first: datetime, last: datetime, *, through_tenant: str | None = None
) -> dict[str, str]:
    """The run tags of a run over the tenant's windows `first`..`last` (what a single-run
    backfill launches; the assets' backfill policy is single-run). With `through_tenant`, the
    run covers the same windows of every tenant from `tenant` to it in the tenant dimension's
    order: Dagster reads a multi-partition range as the range of each dimension, crossed.
    """
    return {
        "dagster/asset_partition_range_start": str(partition_key_for(tenant, first)),
        "dagster/asset_partition_range_end": str(partition_key_for(through_tenant or tenant, last)),
    }


def decode_partitions(context: dg.AssetExecutionContext) -> dict[str, list[Window]]:
    """The run's windows by tenant, each tenant's in time order (one window for a run of one
    partition; a range for a single-run backfill).
    """
    definition = context.assets_def.partitions_def
    by_tenant: dict[str, list[Window]] = {}
    for text in context.partition_keys:
        key = definition.get_partition_key_from_str(str(text))
        keys = key.keys_by_dimension
        start = datetime.strptime(keys[WINDOW_DIMENSION], "%Y-%m-%d-%H:%M").replace(tzinfo=UTC)
        by_tenant.setdefault(keys[TENANT_DIMENSION], []).append(
            Window(start, start + timedelta(hours=1))
        )
    return {tenant: sorted(windows, key=lambda w: w.start) for tenant, windows in by_tenant.items()}
