"""Turn the raw records of one blob into one typed Arrow record batch.

The raw record is the data: it is kept whole as JSON next to typed copies of the common
fields. Typing is forgiving because the live service drifts (RecordType sent as "15",
CreationTime with or without fraction or zone, ResultStatus as a bool, ClientIP with a port):
a value that cannot be typed becomes null in its typed column and stays intact in `raw_json`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import pyarrow as pa

from o365_pipeline.records.record_types import record_type_name
from o365_pipeline.records.schema import AUDIT_SCHEMA

_STRING_FIELDS = (
    "Operation",
    "Workload",
    "UserId",
    "UserKey",
    "ClientIP",
    "ObjectId",
    "ResultStatus",
    "OrganizationId",
)


class MalformedRecordError(ValueError):
    """A blob element that is not an audit record (not an object, or no string `Id`)."""


def records_to_batch(
    records: Sequence[Mapping],
    *,
    tenant: str,
    content_type: str,
    content_id: str,
    content_created: datetime,
    ingested_at: datetime,
) -> pa.RecordBatch:
    """Build the batch of one blob's records (one pass over the records).

    Raises:
        MalformedRecordError: an element is not a JSON object or lacks a string `Id`; the
            message names the blob and the element's index so the blob can be inspected.

    """
    columns: dict[str, list] = {name: [] for name in AUDIT_SCHEMA.names}
    for index, record in enumerate(records):
        if not isinstance(record, Mapping) or not isinstance(record.get("Id"), str):
            raise MalformedRecordError(
                f"Element {index} of blob {content_id} ({content_type}) is not an audit record "
                "with a string Id; the blob is malformed. Inspect it with its contentUri; it is "
                "retried on the next run."
            )
        columns["Id"].append(record["Id"])
        columns["CreationTime"].append(parse_creation_time(record.get("CreationTime")))
        record_type = _as_int(record.get("RecordType"))
        columns["RecordType"].append(record_type)
        columns["RecordTypeName"].append(record_type_name(record_type))
        columns["UserType"].append(_as_int(record.get("UserType")))
        for name in _STRING_FIELDS:
            columns[name].append(_as_text(record.get(name)))
        columns["raw_json"].append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
    count = len(columns["Id"])
    columns["tenant"] = [tenant] * count
    columns["content_type"] = [content_type] * count
    columns["content_id"] = [content_id] * count
    columns["content_created"] = [content_created.astimezone(UTC)] * count
    columns["ingested_at"] = [ingested_at.astimezone(UTC)] * count
    return pa.RecordBatch.from_arrays(
        [pa.array(columns[field.name], type=field.type) for field in AUDIT_SCHEMA],
        schema=AUDIT_SCHEMA,
    )


def parse_creation_time(value: object) -> datetime | None:
    """Parse the API's zone-less UTC `CreationTime` (`2026-11-20T10:15:02`), tolerating a
    fraction, a `Z` or an offset; None when it is not a time.
    """
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if -(2**31) <= value < 2**31 else None
    if isinstance(value, str):
        try:
            return _as_int(int(value.strip()))
        except ValueError:
            return None
    return None


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
