"""The `daily_report` asset: per tenant and UTC day, the report a person reads (HTML page and
PNG charts under `reports/tenant=T/date=D/`), shown in the Dagster UI as its materialization's
Markdown metadata with the charts embedded.

The charts travel as base64 `data:` images inside the Markdown: the UI's Markdown renderer
allows `data:` image sources (Dagster's own tutorial shows a plot that way), whereas an image
by path or by a `file:` URL would not load in a browser looking at a remote webserver. The
HTML page itself is linked as a path for whoever can open the data folder.
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import dagster as dg

from o365_pipeline.defs.assets import audit_days_deps
from o365_pipeline.defs.metadata import publication_metadata
from o365_pipeline.defs.partitions import (
    day_partition_key_for,
    decode_day_partition,
)
from o365_pipeline.defs.resources import StorageResource
from o365_pipeline.defs.schedules import tenant_has_partitions
from o365_pipeline.errors import PipelineError
from o365_pipeline.pipeline.daily_report import DailyReport, write_daily_report
from o365_pipeline.tenants import Tenant
from o365_pipeline.tenants.directory import TenantDirectory, as_directory

DAILY_REPORT_KEY = dg.AssetKey("daily_report")
REPORTS_GROUP = "reports"
REPORT_JOB_NAME = "daily_reports"
# Microsoft makes most events available 60-90 minutes after they happen ("Office 365 Management
# Activity API FAQs and troubleshooting"); at 04:00 UTC the hourly ingest has landed yesterday's
# last windows and re-listed them once. Later arrivals need the day re-materialized.
REPORT_HOUR = 4


def build_daily_report_asset(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The report asset over day × tenant `partitions` (`defs.partitions.daily_partitions`),
    downstream of every audit table's 24 windows of the day.
    """

    @dg.asset(
        key=DAILY_REPORT_KEY,
        partitions_def=partitions,
        group_name=REPORTS_GROUP,
        kinds={"html", "duckdb"},
        deps=audit_days_deps(),
        description="One tenant's UTC day for a person: events per hour by workload, "
        "failed vs successful sign-ins, top users and client addresses, DLP matches and the "
        "ledger's completeness, as an HTML page with PNG charts beside the data. Re-materialize "
        "a day after late records landed to bring its report up to date.",
    )
    def daily_report(
        context: dg.AssetExecutionContext, storage: StorageResource
    ) -> dg.MaterializeResult:
        partition = decode_day_partition(context)
        try:
            report = write_daily_report(
                storage.layout().root,
                partition.tenant,
                partition.day,
                now=datetime.now(UTC),
                on_damaged=lambda damaged: context.log.warning(damaged.sentence()),
                store=storage.object_store(),
            )
        except PipelineError as error:  # the message names the problem and the fix
            raise dg.Failure(description=str(error), allow_retries=False) from error
        return dg.MaterializeResult(metadata=report_metadata(report))

    return daily_report


def report_metadata(report: DailyReport) -> dict[str, object]:
    """The report in Markdown (charts embedded), the page's path (and where it was published,
    with an object store), and the headline numbers.
    """
    facts = report.facts
    statuses = facts.ledger_status_counts
    published = None if report.published is None else list(report.published)
    return {
        "report": dg.MetadataValue.md(report.markdown()),
        "path": dg.MetadataValue.path(str(report.html_path)),
        "events": facts.events,
        "sign_ins_succeeded": facts.successful_sign_ins,
        "sign_ins_failed": facts.failed_sign_ins,
        "dlp_matches": facts.dlp_matches,
        **{f"ledger_hours_{status}": count for status, count in statuses.items()},
        **publication_metadata(published),
    }


def build_daily_report_job() -> "dg.UnresolvedAssetJobDefinition":
    """The job the schedule launches: one tenant's report of one day."""
    return dg.define_asset_job(
        REPORT_JOB_NAME,
        selection=dg.AssetSelection.assets(DAILY_REPORT_KEY),
        description="Write one tenant's daily report (HTML page and PNG charts).",
    )


def build_daily_report_schedule(
    job: "dg.UnresolvedAssetJobDefinition", tenants: TenantDirectory | Sequence[Tenant]
) -> dg.ScheduleDefinition:
    """Every day at 04:00 UTC, yesterday's report for each served tenant (tenants read at each
    tick). Stopped until switched on, like the other schedules.
    """
    directory = as_directory(tenants)

    @dg.schedule(
        name="daily_reports",
        job=job,
        cron_schedule=f"0 {REPORT_HOUR} * * *",
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )
    def daily_reports(context: dg.ScheduleEvaluationContext):
        yesterday = (context.scheduled_execution_time.astimezone(UTC) - timedelta(days=1)).date()
        for tenant in directory.all():
            if tenant_has_partitions(context, tenant.name):
                key = day_partition_key_for(tenant.name, yesterday)
                yield dg.RunRequest(run_key=str(key), partition_key=key)

    return daily_reports
