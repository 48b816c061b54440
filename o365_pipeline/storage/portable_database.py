"""A DuckDB file an analyst can take anywhere: `o365-pipeline views --out FILE`.

Why a snapshot of tables, not views over the Parquet: a DuckDB view stores the path it reads,
and DuckDB resolves a relative path against the working directory of whoever opens the file
(`file_search_path` is a session setting, not saved in the database), so a stock client
opening the file from another folder finds nothing, and absolute paths break as soon as the
file or the data moves. A snapshot needs no data folder at all: the file can be copied, mailed
or attached from any directory and any machine, and every query answers the same way. The
cost is disk (the Parquet is copied in, compressed by DuckDB) and freshness (write it again for
newer data); `snapshot` inside the file says where and when it was taken.

What is copied: every view that reads files (the per-tenant Parquet, ledger, listings, service
health) becomes a table of the same name, and so does `audit` (de-duplicated once, here,
instead of at every query). The per-content-type views become views over the `audit_all`
table, so rows are not stored twice for them; every other view (the workload views,
`freshness`, `ledger_with_health`, …) is re-created from its own SQL over those tables, and
every comment is carried over.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.storage.atomic import discard, publish, temporary_path_for

ALWAYS_COPIED = frozenset({"audit", "audit_all"})
_READS_FILES = ("read_parquet(", "parquet_scan(", "read_json", "read_csv")
_SNAPSHOT_TABLE = "snapshot"
_TARGET = "portable"


@dataclass(frozen=True)
class PortableDatabase:
    """What was written: the tables (name → rows), the views, the size and the time taken."""

    path: Path
    tables: dict[str, int]
    views: tuple[str, ...]
    bytes: int
    seconds: float

    def sentence(self) -> str:
        """One line for the command's output."""
        rows = self.tables.get("audit", 0)
        return (
            f"Wrote {self.path} ({self.bytes / 1e6:.1f} MB in {self.seconds:.1f} s): "
            f"{len(self.tables)} tables ({rows} `audit` rows) and {len(self.views)} views, "
            "a snapshot that opens from any folder (duckdb.connect(FILE))."
        )


def write_portable_database(
    connection: duckdb.DuckDBPyConnection, path: Path, *, source: str
) -> PortableDatabase:
    """Copy the connection's views into a new DuckDB file at `path` (replaced atomically).

    `source` (the data folder or store URL) is recorded in the file's `snapshot` table.
    """
    started = time.monotonic()
    path = Path(path)
    temporary = temporary_path_for(path)
    origin = connection.execute("SELECT current_database()").fetchall()[0][0]
    connection.execute(f"ATTACH '{_quoted(str(temporary))}' AS {_TARGET}")
    try:
        tables, views = _fill(connection, origin, source)
    except BaseException:
        _detach(connection, origin)
        discard(temporary)
        discard(Path(f"{temporary}.wal"))
        raise
    _detach(connection, origin)
    publish(temporary, path)
    return PortableDatabase(
        path, tables, tuple(views), path.stat().st_size, time.monotonic() - started
    )


def _fill(
    connection: duckdb.DuckDBPyConnection, origin: str, source: str
) -> tuple[dict[str, int], list[str]]:
    """Copy or re-create each view of `origin` in the attached file; its row counts and views."""
    tables: dict[str, int] = {}
    views: list[str] = []
    by_content_type = {kind.slug: kind.name for kind in CONTENT_TYPES}
    for name, sql in _views_in_creation_order(connection, origin):
        if name in by_content_type:
            continue  # after `audit_all`, which they narrow
        if name in ALWAYS_COPIED or any(marker in sql for marker in _READS_FILES):
            tables[name] = _copy_as_table(connection, origin, name)
        else:
            _run_inside(connection, origin, sql)
            views.append(name)
    for slug, content_type in by_content_type.items():
        narrowed = f"SELECT * FROM audit_all WHERE content_type = '{content_type}'"
        _run_inside(connection, origin, f'CREATE VIEW "{slug}" AS {narrowed}')
        views.append(slug)
    _copy_comments(connection, origin)
    _record_snapshot(connection, source)
    return tables, views


def _detach(connection: duckdb.DuckDBPyConnection, origin: str) -> None:
    connection.execute(f'USE "{origin}"')
    connection.execute(f"DETACH {_TARGET}")


def _views_in_creation_order(
    connection: duckdb.DuckDBPyConnection, origin: str
) -> list[tuple[str, str]]:
    """The connection's own views, oldest first, so a view comes after those it reads."""
    return connection.execute(
        "SELECT view_name, sql FROM duckdb_views() WHERE database_name = ? "
        "AND schema_name = 'main' AND NOT internal AND NOT temporary ORDER BY view_oid",
        [origin],
    ).fetchall()


def _copy_as_table(connection: duckdb.DuckDBPyConnection, origin: str, name: str) -> int:
    """Copy a view's rows, zstd-compressed: `raw_json` is most of the bytes, and zstd stores it
    in about half the space of DuckDB's default string compression (measured on emulator data).
    """
    connection.execute("SET force_compression = 'zstd'")
    try:
        connection.execute(
            f'CREATE TABLE {_TARGET}.main."{name}" AS SELECT * FROM "{origin}".main."{name}"'
        )
    finally:
        connection.execute("RESET force_compression")
    return connection.execute(f'SELECT count(*) FROM {_TARGET}.main."{name}"').fetchall()[0][0]


def _run_inside(connection: duckdb.DuckDBPyConnection, origin: str, sql: str) -> None:
    """A view's SQL run inside the file, where the names it reads are the copies."""
    connection.execute(f"USE {_TARGET}")
    try:
        connection.execute(sql)
    finally:
        connection.execute(f'USE "{origin}"')


def _copy_comments(connection: duckdb.DuckDBPyConnection, origin: str) -> None:
    """Each described view and column keeps its description (as a table's, when copied)."""
    kinds = dict(
        connection.execute(
            "SELECT table_name, 'TABLE' FROM duckdb_tables() WHERE database_name = ? "
            "UNION ALL SELECT view_name, 'VIEW' FROM duckdb_views() WHERE database_name = ? "
            "AND NOT internal",
            [_TARGET, _TARGET],
        ).fetchall()
    )
    described = connection.execute(
        "SELECT view_name, comment FROM duckdb_views() WHERE database_name = ? "
        "AND comment IS NOT NULL",
        [origin],
    ).fetchall()
    for name, comment in described:
        if name in kinds:
            target = f'{_TARGET}.main."{name}"'
            connection.execute(f"COMMENT ON {kinds[name]} {target} IS {_literal(comment)}")
    columns = connection.execute(
        "SELECT table_name, column_name, comment FROM duckdb_columns() "
        "WHERE database_name = ? AND comment IS NOT NULL",
        [origin],
    ).fetchall()
    for name, column, comment in columns:
        if name in kinds:
            target = f'{_TARGET}.main."{name}"."{column}"'
            connection.execute(f"COMMENT ON COLUMN {target} IS {_literal(comment)}")


def _record_snapshot(connection: duckdb.DuckDBPyConnection, source: str) -> None:
    connection.execute(
        f"CREATE TABLE {_TARGET}.main.{_SNAPSHOT_TABLE} AS "
        "SELECT ?::VARCHAR AS data_folder, ?::TIMESTAMPTZ AS written_at",
        [source, datetime.now(UTC)],
    )
    connection.execute(
        f"COMMENT ON TABLE {_TARGET}.main.{_SNAPSHOT_TABLE} IS "
        "'Where and when this snapshot was taken; write it again for newer data.'"
    )


def _quoted(text: str) -> str:
    return text.replace("'", "''")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
