"""Asset checks evaluated on each audit partition as it is written: Ids are unique, every
listed blob was fetched (an expired blob is loss and fails the check loudly), the file on
disk is the one the ledger records (`o365-pipeline verify`, for this partition only), and the
records showed no schema drift (a warning: the records landed whole in raw_json either way).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg

from o365_pipeline.defs.metadata import drift_metadata, drift_sentence
from o365_pipeline.defs.resources import StorageResource
from o365_pipeline.pipeline.audit_table import IngestReport
from o365_pipeline.pipeline.freshness import tenant_freshness
from o365_pipeline.pipeline.listing import ListingReport
from o365_pipeline.pipeline.partition_summary import PartitionSummary
from o365_pipeline.pipeline.verification import VerificationReport
from o365_pipeline.records.schema_drift import SchemaDrift
from o365_pipeline.tenants.directory import TenantDirectory

IDS_UNIQUE = "ids_unique"
ALL_BLOBS_FETCHED = "all_listed_blobs_fetched"
PARTITION_HAS_LISTED_BLOBS = "partition_has_every_listed_blob"
FILE_MATCHES_LEDGER = "partition_file_matches_ledger"
NO_SCHEMA_DRIFT = "no_schema_drift"


def listing_check_specs(asset_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    """The check every listing asset declares: nothing listed now is missing from the
    window's audit partition (a late blob makes it fail until the partition is re-run).
    """
    return [
        dg.AssetCheckSpec(
            PARTITION_HAS_LISTED_BLOBS,
            asset=asset_key,
            description="Every blob listed now was fetched by the window's last audit "
            "materialization; a late blob fails this until the audit partition is re-run.",
        )
    ]


def listing_check_results(
    asset_key: dg.AssetKey, report: ListingReport, audit_asset: str
) -> list[dg.AssetCheckResult]:
    """Evaluate the listing check (passes when the window was never ingested yet)."""
    missing = report.not_in_partition or ()
    return [
        dg.AssetCheckResult(
            asset_key=asset_key,
            check_name=PARTITION_HAS_LISTED_BLOBS,
            passed=not missing,
            severity=dg.AssetCheckSeverity.WARN,
            description=(
                f"{len(missing)} blob(s) listed now are not in the audit partition: "
                f"re-materialize {audit_asset} for this partition to land them."
                if missing
                else None
            ),
            metadata={
                "window_ingested_before": report.not_in_partition is not None,
                "blobs_not_in_partition": dg.MetadataValue.json(list(missing)),
            },
        )
    ]


def audit_check_specs(asset_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    """The checks every audit-table asset declares."""
    return [
        dg.AssetCheckSpec(
            IDS_UNIQUE, asset=asset_key, description="Each record Id appears once in the partition."
        ),
        dg.AssetCheckSpec(
            ALL_BLOBS_FETCHED,
            asset=asset_key,
            description="Every blob of the window's listing was fetched; an "
            "expired or failed blob is data loss.",
        ),
        dg.AssetCheckSpec(
            FILE_MATCHES_LEDGER,
            asset=asset_key,
            description="The partition's Parquet file has the SHA-256 and row count its ledger "
            "row records, the ledger agrees with the listing, and no other Parquet file sits "
            "beside it (the checks of `o365-pipeline verify`).",
        ),
        dg.AssetCheckSpec(
            NO_SCHEMA_DRIFT,
            asset=asset_key,
            description="The partition shows no RecordType, Operation or field this content "
            "type had not shown before, no undocumented RecordType and no field whose values "
            "change JSON kind (WARN: Microsoft adds fields without notice; the records are "
            "stored whole in raw_json, so drift asks for a look at the typed views, not a fix).",
        ),
    ]


def audit_check_results(
    asset_key: dg.AssetKey,
    report: IngestReport,
    summary: PartitionSummary,
    verification: VerificationReport,
    drift: SchemaDrift,
) -> list[dg.AssetCheckResult]:
    """Evaluate the checks for one written partition (`verification` and `drift`: of that
    partition).
    """
    missing = [outcome for outcome in report.outcomes if outcome.status != "fetched"]
    return [
        dg.AssetCheckResult(
            asset_key=asset_key,
            check_name=IDS_UNIQUE,
            passed=summary.ids_unique,
            metadata={"rows": summary.rows, "distinct_ids": summary.distinct_ids},
        ),
        dg.AssetCheckResult(
            asset_key=asset_key,
            check_name=ALL_BLOBS_FETCHED,
            passed=not missing,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "blobs_listed": len(report.outcomes),
                "blobs_not_fetched": dg.MetadataValue.json(
                    [
                        {"content_id": outcome.content_id, "status": outcome.status}
                        for outcome in missing
                    ]
                ),
            },
        ),
        dg.AssetCheckResult(
            asset_key=asset_key,
            check_name=FILE_MATCHES_LEDGER,
            passed=verification.clean,
            severity=dg.AssetCheckSeverity.ERROR,
            description="; ".join(finding.line() for finding in verification.findings) or None,
            metadata={
                "files_checked": verification.files_checked,
                "findings": dg.MetadataValue.json(
                    [
                        {"kind": finding.kind.value, "path": finding.path, "detail": finding.detail}
                        for finding in verification.findings
                    ]
                ),
            },
        ),
        schema_drift_result(asset_key, drift),
    ]


def schema_drift_result(asset_key: dg.AssetKey, drift: SchemaDrift) -> dg.AssetCheckResult:
    """The drift check of one partition: passed without drift, a WARN naming it otherwise,
    with the drifting names as a table.
    """
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=NO_SCHEMA_DRIFT,
        passed=not drift.any,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"Schema drift: {drift_sentence(drift)}" if drift.any else None,
        metadata=drift_metadata(drift),
    )


def merged_check_results(
    results: list[tuple[str, dg.AssetCheckResult]],
) -> list[dg.AssetCheckResult]:
    """One result per check for a run of many windows (Dagster takes one per check and step):
    passed only when it passed for every window, naming the windows where it did not. A run of
    one window keeps that window's result as it is.
    """
    grouped: dict[tuple, list[tuple[str, dg.AssetCheckResult]]] = {}
    for label, result in results:
        grouped.setdefault((result.asset_key, result.check_name), []).append((label, result))
    merged = []
    for (asset_key, check_name), pairs in grouped.items():
        if len(pairs) == 1:
            merged.append(pairs[0][1])
            continue
        failing = [(label, result) for label, result in pairs if not result.passed]
        severities = {result.severity for _, result in failing} or {pairs[0][1].severity}
        merged.append(
            dg.AssetCheckResult(
                asset_key=asset_key,
                check_name=check_name,
                passed=not failing,
                severity=dg.AssetCheckSeverity.ERROR
                if dg.AssetCheckSeverity.ERROR in severities
                else dg.AssetCheckSeverity.WARN,
                description="; ".join(
                    f"{label}: {result.description or 'failed'}" for label, result in failing
                )[:2000]
                or None,
                metadata={
                    "windows_checked": len(pairs),
                    "windows_failing": dg.MetadataValue.json([label for label, _ in failing]),
                },
            )
        )
    return merged


def build_freshness_check(
    asset_key: dg.AssetKey, content_type: str, directory: TenantDirectory, threshold: timedelta
) -> dg.AssetChecksDefinition:
    """A check over all partitions of one audit asset: every served tenant has landed content
    newer than `threshold` (WARN: Microsoft's delays are sometimes long, so it asks for a look).
    """

    @dg.asset_check(
        asset=asset_key,
        name="every_tenant_fresh",
        description=f"Every tenant's newest {content_type} content is less than "
        f"{threshold.total_seconds() / 3600:g} h old (O365_FRESHNESS_HOURS).",
    )
    def every_tenant_fresh(storage: StorageResource) -> dg.AssetCheckResult:
        now = datetime.now(UTC)
        names = [tenant.name for tenant in directory.all()]
        rows = tenant_freshness(storage.layout().root, content_type, names)
        stale = [row for row in rows if row.stale(now, threshold)]
        return dg.AssetCheckResult(
            passed=not stale,
            severity=dg.AssetCheckSeverity.WARN,
            description=(
                f"{len(stale)} tenant(s) with no {content_type} content newer than "
                f"{threshold.total_seconds() / 3600:g} h: "
                + ", ".join(row.tenant for row in stale)
                + ". Check the schedule, the tenant's doctor, and the ledger view."
                if stale
                else None
            ),
            metadata={
                "newest_content_created": dg.MetadataValue.json(
                    {
                        row.tenant: row.newest_content_created.isoformat()
                        if row.newest_content_created
                        else None
                        for row in rows
                    }
                ),
                "stale_tenants": dg.MetadataValue.json([row.tenant for row in stale]),
            },
        )

    return every_tenant_fresh
