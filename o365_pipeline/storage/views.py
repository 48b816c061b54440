"""DuckDB views over the Parquet: one per content type, `audit_all`, the analyst-facing
`audit`, and the ledger and listings.

`audit` shows each (tenant, Id) once across all partitions and content types, keeping the
earliest delivery (`content_created`, then `content_id`). Partitions stay independent; the
cost is paid at query time: DuckDB hashes (tenant, Id) over every row it scans from
`audit_all`. A filter on `tenant` is pushed below the de-duplication (it is a partition key of
the window); filters on other columns apply after it. Per-content-type views skip the step
and show every stored delivery.
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import NamedTuple

import duckdb
import pyarrow as pa

from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.records.schema import AUDIT_SCHEMA, COMMON_COLUMNS, INGESTION_COLUMNS
from o365_pipeline.storage.layout import AUDIT, LEDGER, LISTINGS, DataLayout
from o365_pipeline.storage.ledger import BLOB_SCHEMA, BLOBS_FILE_NAME, LEDGER_SCHEMA
from o365_pipeline.storage.listings import LISTING_SCHEMA
from o365_pipeline.storage.object_store import ObjectStore

_HIVE_OPTIONS = (
    "hive_partitioning=true, hive_types={'date': DATE, 'hour': INTEGER}, union_by_name=true"
)
_HIVE_COLUMNS = {"date": "DATE", "hour": "INTEGER"}
_DUCKDB_TYPES = {
    pa.string(): "VARCHAR",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.timestamp("us", tz="UTC"): "TIMESTAMPTZ",
}


def connect(
    data_root: Path, database: str = ":memory:", store: ObjectStore | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with every view defined over `data_root`, or over the object
    store's copy of it when `store` is given.
    """
    connection = duckdb.connect(database)
    connection.execute("SET TimeZone = 'UTC'")
    if store is not None:
        store.register(connection)
    refresh_views(connection, data_root, store)
    return connection


def create_database_file(data_root: Path, path: Path) -> None:
    """Write a DuckDB database file whose views read the Parquet under `data_root`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with connect(Path(data_root).resolve(), str(path)):
        pass


# Per tenant × content type: the newest content seen and how late records arrive
# (ingested_at − CreationTime), so a stalled tenant or a growing delay shows in one query.
FRESHNESS_VIEW = """
CREATE OR REPLACE VIEW freshness AS
SELECT
    tenant,
    content_type,
    max(content_created) AS newest_content_created,
    max(CreationTime) AS newest_creation_time,
    max(ingested_at) AS last_ingested_at,
    count(*) AS records,
    round(quantile_cont(epoch(ingested_at - CreationTime) / 60, 0.5), 1) AS lag_minutes_p50,
    round(quantile_cont(epoch(ingested_at - CreationTime) / 60, 0.95), 1) AS lag_minutes_p95,
    round(max(epoch(ingested_at - CreationTime)) / 60, 1) AS lag_minutes_max
FROM audit_all
GROUP BY tenant, content_type
"""


def refresh_views(
    connection: duckdb.DuckDBPyConnection, data_root: Path, store: ObjectStore | None = None
) -> None:
    """(Re)create the views; call after new partitions appear in a long-lived connection."""
    layout = _Sources(DataLayout(Path(data_root).resolve()), store)
    for content_type in CONTENT_TYPES:
        _create(
            connection,
            content_type.slug,
            layout.glob(AUDIT, content_type=content_type.name),
            AUDIT_SCHEMA,
        )
    _create(connection, "audit_all", layout.glob(AUDIT), AUDIT_SCHEMA)
    columns = ", ".join(
        f'"{name}"' for name in (*COMMON_COLUMNS, *INGESTION_COLUMNS, "date", "hour")
    )
    connection.execute(
        f"CREATE OR REPLACE VIEW audit AS SELECT {columns} FROM audit_all "
        "QUALIFY row_number() OVER (PARTITION BY tenant, Id "
        "ORDER BY content_created, content_id) = 1"
    )
    _create(connection, "ledger", layout.glob(LEDGER, "ledger.parquet"), LEDGER_SCHEMA)
    _create(connection, "ledger_blobs", layout.glob(LEDGER, BLOBS_FILE_NAME), BLOB_SCHEMA)
    _create(connection, "listings", layout.glob(LISTINGS, "listing.parquet"), LISTING_SCHEMA)
    connection.execute(FRESHNESS_VIEW)


class _Sources:
    """Glob patterns over the local folder, or over the same keys in the object store."""

    def __init__(self, layout: DataLayout, store: ObjectStore | None) -> None:
        self._layout = layout
        self._store = store

    def glob(
        self, area: str, file_name: str = "*.parquet", content_type: str | None = None
    ) -> _Pattern:
        """The pattern, and whether anything matches it yet."""
        local = self._layout.glob(area, file_name, content_type)
        if self._store is None:
            return _Pattern(local, bool(glob.glob(local)))
        relative = Path(local).relative_to(self._layout.root).as_posix()
        found = self._store.fs.glob(f"{self._store.root}/{relative}")
        return _Pattern(self._store.key_url(relative), bool(found))


class _Pattern(NamedTuple):
    """A glob pattern, and whether it matched anything when built."""

    text: str
    matches: bool


def _create(
    connection: duckdb.DuckDBPyConnection, name: str, pattern: _Pattern, schema: pa.Schema
) -> None:
    if pattern.matches:
        source = f"SELECT * FROM read_parquet('{_quoted(pattern.text)}', {_HIVE_OPTIONS})"
    else:
        source = _empty_select(schema)
    connection.execute(f'CREATE OR REPLACE VIEW "{name}" AS {source}')


def _empty_select(schema: pa.Schema) -> str:
    """A typed, empty SELECT, so views exist (with 0 rows) before the first partition lands."""
    columns = [f'CAST(NULL AS {_DUCKDB_TYPES[field.type]}) AS "{field.name}"' for field in schema]
    hive = [f'CAST(NULL AS {kind}) AS "{name}"' for name, kind in _HIVE_COLUMNS.items()]
    return f"SELECT {', '.join(columns + hive)} WHERE false"


def _quoted(text: str) -> str:
    return text.replace("'", "''")
