"""Facts about one landed partition that a data engineer wants next to it: CreationTime
range, ingestion lag, a small preview, and whether every Id is unique.

While a window lands they are computed by DuckDB over the loaded records' first deliveries
(what the partition file holds), before the file is written, so no file is read back; the count
of distinct Ids there is DuckDB's own, independent of the writer's de-duplication it checks.
`summarize_partition` computes the same facts from a committed file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from o365_pipeline.records.schema import AUDIT_SCHEMA

# Every typed column, so the preview shows what an analyst's query returns; raw_json (the
# whole record, kilobytes each) stays in the file.
PREVIEW_COLUMNS = tuple(name for name in AUDIT_SCHEMA.names if name != "raw_json")


@dataclass(frozen=True)
class PartitionSummary:
    """Read-back facts of one audit partition file."""

    rows: int
    distinct_ids: int
    creation_time_min: datetime | None
    creation_time_max: datetime | None
    lag_minutes_median: float | None
    lag_minutes_max: float | None
    preview: tuple[dict, ...]

    @property
    def ids_unique(self) -> bool:
        """Whether each Id appears once in the partition (the writer drops repeats)."""
        return self.rows == self.distinct_ids


def summarize_partition(path: Path, preview_rows: int = 5) -> PartitionSummary:
    """Summarize the Parquet file at `path` with DuckDB (lag = ingested_at − CreationTime)."""
    with duckdb.connect() as connection:
        connection.execute("SET enable_progress_bar = false")
        return summarize_source(connection, f"read_parquet('{_quoted(path)}')", preview_rows)


def summarize_source(
    connection: duckdb.DuckDBPyConnection, source: str, preview_rows: int = 5
) -> PartitionSummary:
    """The facts of the audit rows of `source` (a table expression) on `connection`."""
    rows, distinct_ids, first, last, lag_median, lag_max = connection.execute(
        f"""SELECT count(*), count(DISTINCT Id), min(CreationTime), max(CreationTime),
                   median(epoch(ingested_at - CreationTime)) / 60,
                   max(epoch(ingested_at - CreationTime)) / 60
            FROM {source}"""
    ).fetchone()
    columns = ", ".join(f'"{column}"' for column in PREVIEW_COLUMNS)
    cursor = connection.execute(
        f"SELECT {columns} FROM {source} ORDER BY CreationTime, Id LIMIT {int(preview_rows)}"
    )
    names = [description[0] for description in cursor.description]
    preview = tuple(dict(zip(names, row, strict=True)) for row in cursor.fetchall())
    return PartitionSummary(
        rows=rows,
        distinct_ids=distinct_ids,
        creation_time_min=first,
        creation_time_max=last,
        lag_minutes_median=_rounded(lag_median),
        lag_minutes_max=_rounded(lag_max),
        preview=preview,
    )


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)
