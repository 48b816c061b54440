"""Materialization metadata a data engineer wants in the UI, built from the core's reports."""

from __future__ import annotations

from datetime import datetime

import dagster as dg

from o365_pipeline.api.transport import RequestStats
from o365_pipeline.pipeline.audit_table import IngestReport
from o365_pipeline.pipeline.listing import ListingReport
from o365_pipeline.pipeline.partition_summary import PartitionSummary
from o365_pipeline.pipeline.subscriptions import SubscriptionStatus
from o365_pipeline.records.schema_drift import SchemaDrift


def listing_metadata(report: ListingReport) -> dict[str, dg.RawMetadataValue]:
    """Blobs listed, newest contentCreated, and where the listing was saved."""
    newest = report.newest_content_created
    return {
        "blobs_listed": len(report.blobs),
        "newest_content_created": newest.isoformat() if newest else "none",
        "listed_at": report.listed_at.isoformat(),
        "blobs_not_in_audit_partition": (
            len(report.not_in_partition) if report.not_in_partition is not None else "not ingested"
        ),
        "path": dg.MetadataValue.path(str(report.path)),
    }


def audit_metadata(
    report: IngestReport, summary: PartitionSummary
) -> dict[str, dg.RawMetadataValue]:
    """Records, blobs, duplicates, bytes, CreationTime range, lag, preview, ledger status."""
    ledger = report.ledger
    return {
        "dagster/row_count": ledger.records_written,
        "records_written": ledger.records_written,
        "records_read": ledger.records_read,
        "duplicates_dropped": ledger.duplicates_dropped,
        "blobs_listed": ledger.blobs_listed,
        "blobs_fetched": ledger.blobs_fetched,
        "blobs_expired": ledger.blobs_expired,
        "bytes_written": ledger.bytes_written,
        "creation_time_min": _iso(summary.creation_time_min),
        "creation_time_max": _iso(summary.creation_time_max),
        "lag_minutes_median": summary.lag_minutes_median or 0.0,
        "lag_minutes_max": summary.lag_minutes_max or 0.0,
        "ledger_status": ledger.status,
        "path": dg.MetadataValue.path(str(report.write.path)),
        "preview": dg.MetadataValue.md(_markdown_table(summary.preview)),
    }


def request_metadata(stats: RequestStats) -> dict[str, dg.RawMetadataValue]:
    """What the window's requests cost: sent, retried, throttled, and seconds spent waiting."""
    return {
        "api_requests": stats.requests,
        "api_retries": stats.retries,
        "api_throttled": stats.throttled,
        "api_seconds_waited": round(stats.seconds_waited, 3),
        "api_seconds_rate_limited": round(stats.seconds_rate_limited, 3),
        "api_token_renewals": stats.token_renewals,
    }


def subscriptions_metadata(statuses: list[SubscriptionStatus]) -> dict[str, dg.RawMetadataValue]:
    """Per tenant × content type status, and how many were started by this run."""
    rows = [
        {
            "tenant": status.tenant,
            "content_type": status.content_type,
            "status": status.status,
            "started_now": status.started_now,
        }
        for status in statuses
    ]
    return {
        "enabled": sum(1 for status in statuses if status.status.lower() == "enabled"),
        "started_now": sum(1 for status in statuses if status.started_now),
        "subscriptions": dg.MetadataValue.md(_markdown_table(rows)),
    }


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else "none"


def _markdown_table(rows: tuple[dict, ...] | list[dict]) -> str:
    if not rows:
        return "_no rows_"
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = (str(row[column]).replace("|", "\\|") for column in header)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def drift_metadata(drift: SchemaDrift) -> dict[str, dg.RawMetadataValue]:
    """Schema drift by count, and the names, for the partition just landed."""
    return {
        "schema_drift_undocumented_record_types": len(drift.undocumented_record_types),
        "schema_drift_new_operations": len(drift.new_operations),
        "schema_drift_new_fields": len(drift.new_fields),
        "schema_drift_fields_of_varying_kind": len(drift.fields_of_varying_kind),
        "schema_drift": dg.MetadataValue.json(
            {
                "first_sight": drift.first_sight,
                "undocumented_record_types": list(drift.undocumented_record_types),
                "new_record_types": list(drift.new_record_types),
                "new_operations": list(drift.new_operations),
                "new_fields": list(drift.new_fields),
                "fields_of_varying_kind": {
                    name: list(kinds) for name, kinds in drift.fields_of_varying_kind.items()
                },
            }
        ),
    }


def drift_sentence(drift: SchemaDrift) -> str:
    """One line for the run log; the records themselves landed unchanged in raw_json."""
    parts = []
    if drift.undocumented_record_types:
        parts.append(f"undocumented RecordTypes {list(drift.undocumented_record_types)}")
    if drift.new_record_types:
        parts.append(f"new RecordTypes {list(drift.new_record_types)}")
    if drift.new_operations:
        names = list(drift.new_operations)[:10]
        parts.append(f"{len(drift.new_operations)} new Operation(s) {names}")
    if drift.new_fields:
        parts.append(f"{len(drift.new_fields)} new field(s) {list(drift.new_fields)[:10]}")
    if drift.fields_of_varying_kind:
        varying = dict(drift.fields_of_varying_kind)
        parts.append(f"fields with values of varying JSON kind {varying}")
    return "; ".join(parts) + " (stored losslessly in raw_json)"


def publication_metadata(urls: list[str] | None) -> dict[str, dg.RawMetadataValue]:
    """Where the window's files were published (nothing without an object store)."""
    return {} if urls is None else {"published_to": dg.MetadataValue.json(urls)}
