"""The Arrow schema of an audit table row: typed common columns, the original record, and
where it came from.

Column names for record fields keep the API's spelling (`Id`, `CreationTime`, …) so analysts
can read Microsoft's schema documentation next to their SQL.
"""

from __future__ import annotations

import pyarrow as pa

TIMESTAMP = pa.timestamp("us", tz="UTC")

COMMON_COLUMNS: tuple[str, ...] = (
    "Id",
    "CreationTime",
    "Operation",
    "RecordType",
    "RecordTypeName",
    "Workload",
    "UserId",
    "UserKey",
    "UserType",
    "ClientIP",
    "ObjectId",
    "ResultStatus",
    "OrganizationId",
)
INGESTION_COLUMNS: tuple[str, ...] = (
    "tenant",
    "content_type",
    "content_id",
    "content_created",
    "ingested_at",
)

AUDIT_SCHEMA = pa.schema(
    [
        pa.field("Id", pa.string(), nullable=False),
        pa.field("CreationTime", TIMESTAMP),
        pa.field("Operation", pa.string()),
        pa.field("RecordType", pa.int32()),
        pa.field("RecordTypeName", pa.string()),
        pa.field("Workload", pa.string()),
        pa.field("UserId", pa.string()),
        pa.field("UserKey", pa.string()),
        pa.field("UserType", pa.int32()),
        pa.field("ClientIP", pa.string()),
        pa.field("ObjectId", pa.string()),
        pa.field("ResultStatus", pa.string()),
        pa.field("OrganizationId", pa.string()),
        pa.field("raw_json", pa.string(), nullable=False),
        pa.field("tenant", pa.string(), nullable=False),
        pa.field("content_type", pa.string(), nullable=False),
        pa.field("content_id", pa.string(), nullable=False),
        pa.field("content_created", TIMESTAMP, nullable=False),
        pa.field("ingested_at", TIMESTAMP, nullable=False),
    ]
)
