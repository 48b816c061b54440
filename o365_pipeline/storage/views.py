"""DuckDB views over the Parquet: one per content type, `audit_all`, the analyst-facing
`audit`, and the ledger and listings; over `audit`, the typed workload views (`sign_ins`,
`dlp_matches`, …: `storage.workload_views`, columns in `storage/workload_columns/`); and
`findings`, the detections' findings of every tenant-day (`storage.findings`).

`audit` shows each (tenant, Id) once across all partitions and content types, keeping the
earliest delivery (`content_created`, then `content_id`): compacted days come from the daily
tables, already de-duplicated, and only the hourly remainder pays for de-duplication at query
time (`storage.audit_view`). Per-content-type views and `audit_all` read the hourly files and
show every stored delivery; `daily_ledger` holds each compacted day's proof.

A file whose Parquet footer cannot be read (truncated, overwritten, not Parquet at all) is left
out of the views and reported, so the rest of the data stays queryable: the views then list
the readable files explicitly instead of globbing, until the damaged one is repaired and the
views are refreshed (`o365-pipeline verify` tells what to re-materialize).
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.records.schema import AUDIT_SCHEMA
from o365_pipeline.storage.audit_view import create_audit_view, create_daily_ledger_view
from o365_pipeline.storage.damaged_files import DamagedFile, find_damaged
from o365_pipeline.storage.findings import create_findings_view
from o365_pipeline.storage.health_views import create_health_views
from o365_pipeline.storage.layout import AUDIT, DAILY, DAILY_LEDGER, LEDGER, LISTINGS, DataLayout
from o365_pipeline.storage.ledger import BLOB_SCHEMA, BLOBS_FILE_NAME, LEDGER_SCHEMA
from o365_pipeline.storage.listings import LISTING_SCHEMA
from o365_pipeline.storage.object_store import ObjectStore
from o365_pipeline.storage.portable_database import PortableDatabase, write_portable_database
from o365_pipeline.storage.workload_views import create_workload_views

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


_LOG = logging.getLogger(__name__)


def log_damaged(damaged: DamagedFile) -> None:
    """The default report of a skipped file: a warning on this module's logger."""
    _LOG.warning(damaged.sentence())


def connect(
    data_root: Path,
    database: str = ":memory:",
    store: ObjectStore | None = None,
    on_damaged: Callable[[DamagedFile], None] = log_damaged,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with every view defined over `data_root`, or over the object
    store's copy of it when `store` is given; each file left out as damaged goes to
    `on_damaged`.
    """
    connection = duckdb.connect(database)
    connection.execute("SET TimeZone = 'UTC'")
    # Keep each Parquet footer once read: a query over `audit` opens every daily file, and
    # parsing their footers again is most of a warm query's time (measured: 800 daily files,
    # count(*) 120-225 ms without, 17-25 ms with). DuckDB re-reads a file whose mtime changed.
    connection.execute("SET parquet_metadata_cache = true")
    if store is not None:
        store.register(connection)
    for damaged in refresh_views(connection, data_root, store):
        on_damaged(damaged)
    return connection


def create_database_file(
    data_root: Path, path: Path, on_damaged: Callable[[DamagedFile], None] = log_damaged
) -> PortableDatabase:
    """Write a portable DuckDB file: a snapshot of every view over `data_root` that opens from
    any folder (why a snapshot: `storage/portable_database.py`).
    """
    root = Path(data_root).resolve()
    with connect(root, on_damaged=on_damaged) as connection:
        return write_portable_database(connection, Path(path), source=str(root))


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
) -> list[DamagedFile]:
    """(Re)create the views; call after new partitions appear in a long-lived connection.
    Returns the files left out because their footer could not be read.
    """
    sources = _Sources(DataLayout(Path(data_root).resolve()), store)
    audit = sources.files(AUDIT)
    for content_type in CONTENT_TYPES:
        subset = audit.within(
            sources.pattern(AUDIT, content_type=content_type.name),
            f"/content_type={content_type.name}/",
        )
        _create(connection, content_type.slug, subset, AUDIT_SCHEMA)
    _create(connection, "audit_all", audit, AUDIT_SCHEMA)
    daily = sources.files(DAILY, local=sources.layout.daily_glob(DAILY))
    daily_ledgers = sources.files(DAILY, local=sources.layout.daily_glob(DAILY_LEDGER))
    create_audit_view(
        connection,
        hourly_files=audit.readable,
        daily_files=daily.readable,
        daily_pattern=daily.pattern,
        all_daily_readable=not daily.damaged,
    )
    create_daily_ledger_view(connection, daily_ledgers.readable)
    ledger = sources.files(LEDGER, "ledger.parquet")
    blobs = sources.files(LEDGER, BLOBS_FILE_NAME)
    listings = sources.files(LISTINGS, "listing.parquet")
    _create(connection, "ledger", ledger, LEDGER_SCHEMA)
    _create(connection, "ledger_blobs", blobs, BLOB_SCHEMA)
    _create(connection, "listings", listings, LISTING_SCHEMA)
    connection.execute(FRESHNESS_VIEW)
    create_health_views(connection, Path(data_root).resolve(), store)  # logs its damaged files
    create_workload_views(connection)  # typed views over `audit`, with their comments
    findings = create_findings_view(connection, Path(data_root).resolve(), store)
    return [
        *findings,
        *audit.damaged,
        *daily.damaged,
        *daily_ledgers.damaged,
        *ledger.damaged,
        *blobs.damaged,
        *listings.damaged,
    ]


@dataclass(frozen=True)
class _Files:
    """The files a glob matched, split into readable and damaged ones."""

    pattern: str
    readable: list[str] = field(default_factory=list)
    damaged: list[DamagedFile] = field(default_factory=list)

    def within(self, pattern: str, marker: str) -> _Files:
        """The files whose path contains `marker`, under the narrower `pattern`."""
        return _Files(
            pattern,
            [path for path in self.readable if marker in path],
            [damaged for damaged in self.damaged if marker in damaged.path],
        )


class _Sources:
    """Glob patterns over the local folder, or over the same keys in the object store."""

    def __init__(self, layout: DataLayout, store: ObjectStore | None) -> None:
        self.layout = layout
        self._store = store

    def pattern(
        self,
        area: str,
        file_name: str = "*.parquet",
        content_type: str | None = None,
        local: str | None = None,
    ) -> str:
        """The glob DuckDB reads: a local path (`local`, or the area's hourly glob), or the
        same key in the store.
        """
        local = local or self.layout.glob(area, file_name, content_type)
        if self._store is None:
            return local
        return self._store.key_url(self._relative(local))

    def files(self, area: str, file_name: str = "*.parquet", local: str | None = None) -> _Files:
        """Every file the pattern matches now, with the damaged ones set apart."""
        local = local or self.layout.glob(area, file_name)
        if self._store is None:
            found = sorted(glob.glob(local))
            filesystem = None
        else:
            root = self._store.root
            keys = self._store.fs.glob(f"{root}/{self._relative(local)}")
            found = sorted(self._store.key_url(key[len(root) + 1 :]) for key in keys)
            filesystem = self._store.fs
        damaged = find_damaged(found, filesystem)
        skipped = {file.path for file in damaged}
        return _Files(
            self.pattern(area, file_name, local=local),
            [path for path in found if path not in skipped],
            damaged,
        )

    def _relative(self, local: str) -> str:
        return Path(local).relative_to(self.layout.root).as_posix()


def _create(
    connection: duckdb.DuckDBPyConnection, name: str, files: _Files, schema: pa.Schema
) -> None:
    if not files.readable:
        source = _empty_select(schema)
    elif not files.damaged:  # a glob keeps seeing partitions that land after this
        source = f"SELECT * FROM read_parquet('{_quoted(files.pattern)}', {_HIVE_OPTIONS})"
    else:
        listed = ", ".join(f"'{_quoted(path)}'" for path in files.readable)
        source = f"SELECT * FROM read_parquet([{listed}], {_HIVE_OPTIONS})"
    connection.execute(f'CREATE OR REPLACE VIEW "{name}" AS {source}')


def _empty_select(schema: pa.Schema) -> str:
    """A typed, empty SELECT, so views exist (with 0 rows) before the first partition lands."""
    columns = [f'CAST(NULL AS {_DUCKDB_TYPES[field.type]}) AS "{field.name}"' for field in schema]
    hive = [f'CAST(NULL AS {kind}) AS "{name}"' for name, kind in _HIVE_COLUMNS.items()]
    return f"SELECT {', '.join(columns + hive)} WHERE false"


def _quoted(text: str) -> str:
    return text.replace("'", "''")
