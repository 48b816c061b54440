"""Turn one downloaded blob (a JSON array of audit records, on disk) into a typed Arrow table
with DuckDB's JSON reader.

Why DuckDB and not `json` + Python: it parses and types in C++ outside the GIL (so concurrent
fetch workers really run in parallel), holds no Python object per record, and keeps each
record's **exact original text** as `raw_json` (key order, number formatting, everything), which
is what "lossless" means. Measured on 20k Exchange records: 0.27 s vs 0.80 s for json.loads plus
per-record Python typing.

Typing is forgiving, as the live service drifts: RecordType "15" and 15 are both 15; a value
that cannot be typed is null in its typed column and intact in `raw_json`. Elements that are
not objects with a string `Id` make the blob malformed (named with the element's index).
"""

import threading
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from o365_pipeline.records.record_types import RECORD_TYPE_NAMES
from o365_pipeline.records.schema import AUDIT_SCHEMA

_local = threading.local()
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


class MalformedBlobError(ValueError):
    """A blob body that is not a JSON array of audit records."""


def read_blob(
    path: Path,
    *,
    tenant: str,
    content_type: str,
    content_id: str,
    content_created: datetime,
    ingested_at: datetime,
) -> pa.Table:
    """The blob at `path` as a table in `AUDIT_SCHEMA` order, elements in blob order.

    Raises:
        MalformedBlobError: the body is not a JSON array, or an element is not an object with
            a string `Id`; the message names the blob (and the element's index).

    """
    connection = _connection()
    try:
        table = connection.sql(
            _QUERY,
            params=[
                str(path),
                tenant,
                content_type,
                content_id,
                content_created.astimezone(UTC),
                ingested_at.astimezone(UTC),
            ],
        ).to_arrow_table()
    except duckdb.Error as error:
        raise MalformedBlobError(
            f"Blob {content_id} ({content_type}) is not a JSON array of records: "
            f"{str(error).splitlines()[0][:200]}"
        ) from None
    bad = table.column("_problem").drop_null()
    if len(bad):
        index = table.column("_index")[table.column("_problem").is_valid().index(True).as_py()]
        raise MalformedBlobError(
            f"Element {index.as_py()} of blob {content_id} ({content_type}) is not an audit "
            f"record ({bad[0].as_py()}); the blob is malformed and will be retried."
        )
    return table.select(AUDIT_SCHEMA.names).cast(AUDIT_SCHEMA)


def _connection() -> duckdb.DuckDBPyConnection:
    """One connection per thread (DuckDB connections are not shared across threads)."""
    if not hasattr(_local, "connection"):
        connection = duckdb.connect()
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute("SET threads = 1")
        connection.execute("SET preserve_insertion_order = true")
        names = ", ".join(f"{code}: '{name}'" for code, name in RECORD_TYPE_NAMES.items())
        connection.execute(f"CREATE MACRO record_type_name(code) AS (MAP {{{names}}})[code]")
        _local.connection = connection
    return _local.connection


_QUERY = f"""
WITH elements AS (
    SELECT json, row_number() OVER () - 1 AS _index
    FROM read_json_objects(?, format = 'array', maximum_object_size = 268435456)
), typed AS (
    SELECT
        json->>'$.Id' AS Id,
        TRY_CAST(json->>'$.CreationTime' AS TIMESTAMPTZ) AS CreationTime,
        TRY_CAST(json->>'$.RecordType' AS INTEGER) AS RecordType,
        TRY_CAST(json->>'$.UserType' AS INTEGER) AS UserType,
        {", ".join(f"json->>'$.{name}' AS {name}" for name in _STRING_FIELDS)},
        json::VARCHAR AS raw_json,
        CASE WHEN json_type(json) <> 'OBJECT' THEN 'not a JSON object'
             WHEN coalesce(json_type(json, '$.Id'), 'NULL') <> 'VARCHAR' THEN 'no string Id'
        END AS _problem,
        _index
    FROM elements
)
SELECT *, record_type_name(RecordType) AS RecordTypeName,
       ?::VARCHAR AS tenant, ?::VARCHAR AS content_type, ?::VARCHAR AS content_id,
       ?::TIMESTAMPTZ AS content_created, ?::TIMESTAMPTZ AS ingested_at
FROM typed ORDER BY _index
"""
