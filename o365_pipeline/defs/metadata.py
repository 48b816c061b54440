"""Materialization metadata a data engineer wants in the UI, built from the core's reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import dagster as dg
import pyarrow as pa

from o365_pipeline.api.transport import RequestStats
from o365_pipeline.pipeline.audit_table import IngestReport
from o365_pipeline.pipeline.listing import ListingReport
from o365_pipeline.pipeline.partition_summary import PartitionSummary
from o365_pipeline.pipeline.subscriptions import SubscriptionStatus
from o365_pipeline.records.schema import AUDIT_SCHEMA
from o365_pipeline.records.schema_drift import SchemaDrift

# A preview cell of raw_json shows the record's beginning; the whole record is in the file.
PREVIEW_TEXT_CHARACTERS = 160
_TABLE_TYPES = {pa.string(): "string", pa.int32(): "int", pa.int64(): "int"}


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
        "preview": preview_table(summary.preview),
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


def preview_table(rows: Sequence[dict]) -> dg.TableMetadataValue:
    """The first rows of a partition as a Dagster table: a column per preview column with its
    Arrow type (timestamps as ISO 8601 UTC text in a `timestamp` column, since a table cell
    holds only text, numbers and booleans), and raw_json cut to its first characters.
    """
    names = list(rows[0]) if rows else list(AUDIT_SCHEMA.names)
    columns = [_table_column(name) for name in names]
    records = [dg.TableRecord({name: _cell(name, row.get(name)) for name in names}) for row in rows]
    return dg.MetadataValue.table(records, schema=dg.TableSchema(columns=columns))


def _table_column(name: str) -> dg.TableColumn:
    field = AUDIT_SCHEMA.field(name) if name in AUDIT_SCHEMA.names else None
    if field is None:
        return dg.TableColumn(name, "string")
    if pa.types.is_timestamp(field.type):
        kind, description = "timestamp", "UTC, ISO 8601"
    else:
        kind, description = _TABLE_TYPES.get(field.type, str(field.type)), None
    constraints = dg.TableColumnConstraints(nullable=field.nullable, unique=name == "Id")
    return dg.TableColumn(name, kind, description=description, constraints=constraints)


def _cell(name: str, value: object) -> str | int | float | bool | None:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and name == "raw_json" and len(value) > PREVIEW_TEXT_CHARACTERS:
        return value[: PREVIEW_TEXT_CHARACTERS - 1] + "…"
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


DRIFT_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("change", "string", description="what kind of drift"),
        dg.TableColumn("name", "string", description="the RecordType, Operation or field"),
        dg.TableColumn(
            "json_kinds", "string", description="the JSON kinds a field's values took so far"
        ),
    ]
)


def drift_rows(drift: SchemaDrift) -> list[dict[str, str]]:
    """One row per drifting name: undocumented or new RecordTypes, new Operations, new
    fields, and fields whose values took more than one JSON kind (with those kinds).
    """
    rows = [
        {"change": "undocumented RecordType", "name": str(value), "json_kinds": ""}
        for value in drift.undocumented_record_types
    ]
    rows += [
        {"change": "new RecordType", "name": str(value), "json_kinds": ""}
        for value in drift.new_record_types
    ]
    rows += [
        {"change": "new Operation", "name": name, "json_kinds": ""} for name in drift.new_operations
    ]
    rows += [{"change": "new field", "name": name, "json_kinds": ""} for name in drift.new_fields]
    rows += [
        {"change": "field of varying kind", "name": name, "json_kinds": ", ".join(kinds)}
        for name, kinds in drift.fields_of_varying_kind.items()
    ]
    return rows


def drift_metadata(drift: SchemaDrift) -> dict[str, dg.RawMetadataValue]:
    """Schema drift by count, and as a table of the drifting names, for the partition just
    landed (on a content type's first partition everything is new, so only undocumented
    RecordTypes and fields of varying kind are reported).
    """
    return {
        "schema_drift_first_sight": drift.first_sight,
        "schema_drift_undocumented_record_types": len(drift.undocumented_record_types),
        "schema_drift_new_record_types": len(drift.new_record_types),
        "schema_drift_new_operations": len(drift.new_operations),
        "schema_drift_new_fields": len(drift.new_fields),
        "schema_drift_fields_of_varying_kind": len(drift.fields_of_varying_kind),
        "schema_drift": dg.MetadataValue.table(
            [dg.TableRecord(row) for row in drift_rows(drift)], schema=DRIFT_SCHEMA
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
