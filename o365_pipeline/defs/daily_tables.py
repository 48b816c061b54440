"""The daily tables: per content type, one asset partitioned by UTC day × tenant that compacts the
day's 24 hourly audit partitions into one sorted, de-duplicated Parquet file; a check that its
ledger's proof holds; and the daily schedule that compacts each settled day.

Each asset body decodes its partition, calls `compact_daily_table` and reports; the work and the
rules (what "settled" means, the look-back) live in `o365_pipeline.pipeline.daily_compaction`.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import dagster as dg

from o365_pipeline.content_types import ContentType
from o365_pipeline.defs.assets import audit_days_deps
from o365_pipeline.defs.failures import reported_as_failure
from o365_pipeline.defs.partitions import (
    day_partition_key_for,
    decode_day_partition,
)
from o365_pipeline.defs.resources import StorageResource
from o365_pipeline.defs.schedules import tenant_has_partitions
from o365_pipeline.pipeline.daily_compaction import (
    DailyCompactionReport,
    DayNotSettledError,
    compact_daily_table,
    settled_days,
)
from o365_pipeline.pipeline.daily_verification import verify_daily_table
from o365_pipeline.storage.daily_tables import DailyProofError
from o365_pipeline.tenants import Tenant
from o365_pipeline.tenants.directory import TenantDirectory, as_directory

DAILY_GROUP = "daily_tables"
DAILY_JOB_NAME = "compact_daily_tables"
PROOF_CHECK = "daily_table_proof_holds"
# Days requested per tick: the newest settled day and the two before it, so a day whose last
# hour was still incomplete at the first tick is compacted at a later one (a compacted day is
# rewritten to the same bytes).
DAYS_PER_TICK = 3


def daily_table_key(content_type: ContentType) -> dg.AssetKey:
    """Asset key of a content type's daily table."""
    return dg.AssetKey(["daily", content_type.slug])


def build_daily_table_asset(
    content_type: ContentType, partitions: dg.PartitionsDefinition, *, settle_delay: timedelta
) -> dg.AssetsDefinition:
    """The daily table of one content type, fed by its hourly audit asset's 24 windows."""
    key = daily_table_key(content_type)

    @dg.asset(
        key=key,
        deps=audit_days_deps([content_type]),
        partitions_def=partitions,
        group_name=DAILY_GROUP,
        kinds={"parquet", "duckdb"},
        description=f"{content_type.description} One Parquet file per tenant and settled UTC "
        "day, sorted by CreationTime, each record once (against the 7 days before it too).",
        check_specs=[
            dg.AssetCheckSpec(
                PROOF_CHECK,
                asset=key,
                description="Every hourly record of the day is in the daily file or was a "
                "duplicate, the file is the one the daily ledger describes, and the hourly "
                "partitions are the ones it was compacted from.",
            )
        ],
    )
    def daily_table(
        context: dg.AssetExecutionContext, storage: StorageResource
    ) -> dg.MaterializeResult:
        partition = decode_day_partition(context)
        with _reported():
            report = compact_daily_table(
                storage.layout(),
                storage.object_store(),
                tenant=partition.tenant,
                content_type=content_type.name,
                day=partition.day,
                settle_delay=settle_delay,
                clock=lambda: datetime.now(UTC),
            )
        verification = verify_daily_table(
            storage.layout(), content_type.name, partition.tenant, partition.day
        )
        return dg.MaterializeResult(
            metadata=_metadata(report),
            check_results=[
                dg.AssetCheckResult(
                    check_name=PROOF_CHECK,
                    passed=verification.passed,
                    description="; ".join(verification.problems) or None,
                    metadata={
                        "unaccounted_rows": report.ledger.unaccounted_rows,
                        "invented_rows": report.ledger.invented_rows,
                    },
                )
            ],
        )

    return daily_table


def build_daily_tables_job(
    assets: Sequence[dg.AssetsDefinition],
) -> "dg.UnresolvedAssetJobDefinition":
    """Every content type's daily table (and its check) for one tenant × day."""
    return dg.define_asset_job(
        DAILY_JOB_NAME,
        selection=dg.AssetSelection.assets(*assets),
        description="Compact a settled UTC day of one tenant into its daily tables.",
    )


def build_daily_tables_schedule(
    job: "dg.UnresolvedAssetJobDefinition",
    tenants: TenantDirectory | Sequence[Tenant],
    *,
    settle_delay: timedelta,
) -> dg.ScheduleDefinition:
    """Once a day, half an hour after the newest day settles, compact the newest settled days
    of every tenant whose partitions exist.
    """
    directory = as_directory(tenants)
    hour = int(settle_delay.total_seconds() // 3600) % 24

    @dg.schedule(
        name="daily_tables_compaction",
        job=job,
        cron_schedule=f"30 {hour} * * *",
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )
    def daily_tables_compaction(context: dg.ScheduleEvaluationContext):
        tick = context.scheduled_execution_time
        for day in settled_days(tick, settle_delay=settle_delay, count=DAYS_PER_TICK):
            for tenant in directory.all():
                if not tenant_has_partitions(context, tenant.name):
                    continue
                key = day_partition_key_for(tenant.name, day)
                yield dg.RunRequest(run_key=f"{key}@{tick:%Y-%m-%d}", partition_key=key)

    return daily_tables_compaction


def _metadata(report: DailyCompactionReport) -> dict:
    ledger = report.ledger
    metadata = {
        "path": dg.MetadataValue.path(str(report.compacted.path)),
        "rows": ledger.rows_written,
        "hourly_rows": ledger.hourly_rows,
        "duplicates_within_day": ledger.duplicates_within_day,
        "duplicates_of_earlier_days": ledger.duplicates_of_earlier_days,
        "farthest_duplicate_days": ledger.farthest_duplicate_days,
        "hours_with_loss": ledger.hours_with_loss,
        "lookback_days_found": ledger.lookback_days_found,
        "bytes": ledger.bytes_written,
        "file_sha256": ledger.file_sha256,
        "seconds": round((ledger.finished_at - ledger.started_at).total_seconds(), 3),
    }
    if report.published:
        metadata["published"] = dg.MetadataValue.json(report.published)
    return metadata


@contextmanager
def _reported() -> Iterator[None]:
    """The core's errors as Dagster failures with their one-line story."""
    with reported_as_failure():
        try:
            yield
        except (DayNotSettledError, DailyProofError) as error:
            raise dg.Failure(description=str(error)) from error
