"""The `detections` asset: the findings of the detection rules for one tenant's UTC day, with
an asset check that warns when the day has new high-severity findings, and the daily schedule
that runs the days that ended.

Daily × tenant, downstream of the five audit tables' 24 windows of the day: the body decodes
the partition, calls `detect_day` (plain Python, `o365_pipeline.pipeline.detections`) and
reports counts by rule and the findings as a table.
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import dagster as dg

from o365_pipeline.defs.assets import audit_days_deps
from o365_pipeline.defs.failures import reported_as_failure
from o365_pipeline.defs.metadata import publication_metadata
from o365_pipeline.defs.partitions import day_partition_key_for, decode_day_partition
from o365_pipeline.defs.resources import StorageResource
from o365_pipeline.defs.schedules import tenant_has_partitions
from o365_pipeline.detections import load_rules
from o365_pipeline.pipeline.detections import DetectionReport, Finding, detect_day
from o365_pipeline.tenants import Tenant
from o365_pipeline.tenants.directory import TenantDirectory, as_directory

DETECTIONS_KEY = dg.AssetKey("detections")
DETECTIONS_GROUP = "analytics"
DETECTIONS_JOB_NAME = "detect_day"
NEW_HIGH_SEVERITY_CHECK = "no_new_high_severity_findings"
DETECTIONS_SCHEDULE_NAME = "daily_detections"
# Most events are available 60-90 minutes after they happen, other workloads later and with no
# SLA ("Office 365 Management Activity API FAQs and troubleshooting"): at 04:15 UTC the hourly
# ingest has landed yesterday's last windows, and the day before is run again for what arrived
# a day late (a run of a day reports as new only what its previous run had not found).
DETECTIONS_HOUR, DETECTIONS_MINUTE = 4, 15
DAYS_PER_TICK = 2
FINDINGS_TABLE_ROWS = 50
FINDINGS_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("rule", "string", description="The detection rule (its SQL file name)."),
        dg.TableColumn("severity", "string", description="high, medium or low."),
        dg.TableColumn("first_seen", "string", description="First event (UTC, CreationTime)."),
        dg.TableColumn("last_seen", "string", description="Last event (UTC, CreationTime)."),
        dg.TableColumn("user", "string", description="The account the finding is about."),
        dg.TableColumn("ip", "string", description="The client address involved."),
        dg.TableColumn("evidence", "int", description="Audit records (Ids) that show it."),
        dg.TableColumn("summary", "string", description="What was seen, in one sentence."),
    ]
)


def build_detections_asset(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The asset over `partitions` (day × tenant, `daily_partitions`)."""
    rules = load_rules()

    @dg.asset(
        key=DETECTIONS_KEY,
        partitions_def=partitions,
        group_name=DETECTIONS_GROUP,
        kinds={"duckdb", "parquet"},
        deps=audit_days_deps(),
        check_specs=[
            dg.AssetCheckSpec(
                NEW_HIGH_SEVERITY_CHECK,
                asset=DETECTIONS_KEY,
                description="Warns when this run of the day found high-severity findings that "
                "its previous run had not.",
            )
        ],
        description="Findings of the detection rules (o365_pipeline/detections/rules/*.sql: "
        + ", ".join(rule.name for rule in rules)
        + ") for one tenant's UTC day of events, one Parquet file per tenant-day under "
        "detections/.",
    )
    def detections(
        context: dg.AssetExecutionContext, storage: StorageResource
    ) -> dg.MaterializeResult:
        partition = decode_day_partition(context)
        with reported_as_failure():
            report = detect_day(
                storage.layout().root,
                partition.tenant,
                partition.day,
                store=storage.object_store(),
            )
        context.log.info(
            f"{partition.tenant} {partition.day}: {len(report.findings)} finding(s), "
            f"{len(report.new_high_severity)} new high-severity"
        )
        return dg.MaterializeResult(
            metadata=detections_metadata(report),
            check_results=[new_high_severity_check(report)],
        )

    return detections


def build_detections_job() -> "dg.UnresolvedAssetJobDefinition":
    """Run the detections of one tenant-day (the demo runs it after landing its windows)."""
    return dg.define_asset_job(
        DETECTIONS_JOB_NAME,
        selection=dg.AssetSelection.assets(DETECTIONS_KEY),
        description="Run the detection rules over one tenant's UTC day.",
    )


def build_detections_schedule(
    job: "dg.UnresolvedAssetJobDefinition", tenants: TenantDirectory | Sequence[Tenant]
) -> dg.ScheduleDefinition:
    """Every day at 04:15 UTC, the detections of yesterday and the day before for each served
    tenant (tenants read at each tick). Stopped until switched on, like the other schedules.
    """
    directory = as_directory(tenants)

    @dg.schedule(
        name=DETECTIONS_SCHEDULE_NAME,
        job=job,
        cron_schedule=f"{DETECTIONS_MINUTE} {DETECTIONS_HOUR} * * *",
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )
    def daily_detections(context: dg.ScheduleEvaluationContext):
        tick = context.scheduled_execution_time.astimezone(UTC)
        for back in range(1, DAYS_PER_TICK + 1):
            day = (tick - timedelta(days=back)).date()
            for tenant in directory.all():
                if tenant_has_partitions(context, tenant.name):
                    key = day_partition_key_for(tenant.name, day)
                    yield dg.RunRequest(run_key=f"{key}@{tick:%Y-%m-%d}", partition_key=key)

    return daily_detections


def detections_metadata(report: DetectionReport) -> dict[str, object]:
    """Counts by rule, the findings as a table (the first 50), and where they are kept (and
    published, with an object store).
    """
    published = None if report.published is None else list(report.published)
    return {
        "findings": len(report.findings),
        "new_findings": len(report.new),
        "findings_by_rule": dg.MetadataValue.json(report.counts_by_rule),
        "findings_table": findings_table(report.findings[:FINDINGS_TABLE_ROWS]),
        "path": dg.MetadataValue.path(str(report.path)),
        **publication_metadata(published),
    }


def findings_table(findings: Sequence[Finding]) -> dg.TableMetadataValue:
    """The findings as a Dagster table (timestamps as ISO text, evidence as its count)."""
    records = [
        dg.TableRecord(
            {
                "rule": finding.rule,
                "severity": finding.severity,
                "first_seen": _iso(finding.first_seen),
                "last_seen": _iso(finding.last_seen),
                "user": finding.user or "",
                "ip": finding.ip or "",
                "evidence": len(finding.evidence_ids),
                "summary": finding.summary or "",
            }
        )
        for finding in findings
    ]
    return dg.MetadataValue.table(records, schema=FINDINGS_SCHEMA)


def new_high_severity_check(report: DetectionReport) -> dg.AssetCheckResult:
    """WARN (not ERROR: the data is fine, a person should look) on new high-severity
    findings; pass otherwise, naming what is new either way.
    """
    new_high = report.new_high_severity
    return dg.AssetCheckResult(
        check_name=NEW_HIGH_SEVERITY_CHECK,
        asset_key=DETECTIONS_KEY,
        passed=not new_high,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"{len(new_high)} new high-severity finding(s): "
            + "; ".join(f"{finding.rule}: {finding.summary}" for finding in new_high[:5])
            if new_high
            else "No new high-severity findings."
        ),
        metadata={
            "new_high_severity": len(new_high),
            "high_severity": sum(finding.severity == "high" for finding in report.findings),
            "new_by_rule": dg.MetadataValue.json(
                {rule: sum(f.rule == rule for f in new_high) for rule in {f.rule for f in new_high}}
            ),
        },
    )


def _iso(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""
