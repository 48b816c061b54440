"""Compact one tenant × content type × UTC day: its 24 hourly Parquet files become one file
sorted by `CreationTime`, each record Id once — once across the day and once against the days
before it within the look-back — with the counts that prove nothing was lost.

Why a look-back: Microsoft writes the same record (same `Id`) into more than one blob, "sometimes
days apart" (Office 365 Management Activity API FAQ, "duplicate events"), and the service lists
and serves a blob for 7 days after it became available (API reference, `startTime`: "no more
than 7 days in the past"; content "available for 7 days"). A re-delivery therefore lands in an
hourly partition at most about 7 days after the first one, so 7 days of earlier Ids are checked.
The emulator re-delivers into the next hour's blobs (measured: at most 1 h 58 min between the
two `contentCreated`, so at most one day boundary), well inside it.

The first delivery wins, as in the hourly files and the de-duplicating view: the earliest
`content_created`, then `content_id`; a record seen in an earlier day stays in that day.

It is DuckDB over the 24 files and the look-back days' Ids, under a memory limit with spilling
to a scratch folder: the first deliveries are chosen on the narrow columns, the rows sorted
(in time slices when the day is big), written to a hidden temporary file that is only
published (atomically) after a second query has proved it against its inputs. The file's
order is total (`CreationTime`, then `Id`) and written by one thread, so the same inputs give
the same bytes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from o365_pipeline.errors import PipelineError
from o365_pipeline.records.schema import AUDIT_SCHEMA
from o365_pipeline.storage.atomic import discard, publish, temporary_path_for
from o365_pipeline.storage.checksum import sha256_of_file
from o365_pipeline.storage.damaged_files import footer_problem
from o365_pipeline.storage.layout import DataLayout

LOOKBACK_DAYS = 7
# Row groups of 64k rows: a day sorted by CreationTime is cut into time slices, so a query on
# an hour reads one or two of them (DuckDB skips the rest by their min/max statistics).
ROW_GROUP_ROWS = 65_536
MEMORY_LIMIT = "256MB"
# Uncompressed bytes of hourly input sorted at once (see `_write_sorted`).
SORT_SLICE_BYTES = 64 * 1024 * 1024
_HOURLY = "hive_partitioning=true, hive_types={'date': DATE, 'hour': INTEGER}"
_DAILY = "hive_partitioning=true, hive_types={'date': DATE}"
_COLUMNS = ", ".join(f'"{name}"' for name in AUDIT_SCHEMA.names)


@dataclass(frozen=True)
class EarlierDay:
    """One look-back day: its daily file when it was compacted, else its hourly files."""

    day: date
    daily_file: Path | None
    hourly_files: tuple[Path, ...]


@dataclass(frozen=True)
class DayCounts:
    """What the proof query found (see `storage.daily_ledger` for what each count means)."""

    hourly_rows: int
    duplicates_within_day: int
    duplicates_of_earlier_days: int
    rows_written: int
    unaccounted_rows: int
    invented_rows: int
    farthest_duplicate_days: int

    @property
    def hold(self) -> bool:
        """Every hourly record is in the file or was a duplicate, and the file holds nothing
        else (so its Ids are unique too: the counts would not add up otherwise).
        """
        accounted = self.rows_written + self.duplicates_within_day + self.duplicates_of_earlier_days
        return self.unaccounted_rows == self.invented_rows == 0 and self.hourly_rows == accounted


class DailyProofError(PipelineError, RuntimeError):
    """A written daily file did not prove out against its hourly files; it was not published."""


@dataclass(frozen=True)
class CompactedDay:
    """A published daily file and its proof."""

    path: Path
    counts: DayCounts
    file_rows: int
    file_sha256: str
    bytes_written: int


def earlier_days(layout: DataLayout, content_type: str, tenant: str, day: date) -> list[EarlierDay]:
    """The look-back days before `day` that hold anything readable, oldest first."""
    found = []
    for back in range(LOOKBACK_DAYS, 0, -1):
        earlier = day - timedelta(days=back)
        daily = layout.daily_file(content_type, tenant, earlier)
        if daily.exists() and footer_problem(str(daily)) is None:
            found.append(EarlierDay(earlier, daily, ()))
            continue
        folder = layout.audit_file(content_type, tenant, _midnight(earlier)).parent.parent
        hours = tuple(
            path
            for path in sorted(folder.glob("hour=*/part.parquet"))
            if footer_problem(str(path)) is None
        )
        if hours:
            found.append(EarlierDay(earlier, None, hours))
    return found


def compact_day(
    target: Path, day: date, hourly_files: Sequence[Path], earlier: Sequence[EarlierDay]
) -> CompactedDay:
    """Write, prove and publish the daily file at `target`; the previous file stays in place
    unless the new one is complete and proved.

    Raises:
        duckdb.Error: a file could not be read or written (nothing was published).

    """
    temporary = temporary_path_for(target)
    try:
        with tempfile.TemporaryDirectory(prefix=".spill-", dir=target.parent) as spill:
            with _connection(Path(spill)) as connection:
                _create_inputs(connection, hourly_files, earlier)
                _choose_first_deliveries(connection)
                _write_sorted(connection, temporary, Path(spill), hourly_files)
                counts = _prove(connection, temporary, day)
        if not counts.hold:
            raise DailyProofError(
                f"The daily file for {target.parent} did not prove out ({counts}); it was not "
                "published. Run o365-pipeline verify on the day's hourly partitions, then "
                "compact the day again."
            )
        file_rows = pq.read_metadata(temporary).num_rows
        size = temporary.stat().st_size
        sha256 = sha256_of_file(temporary)
        publish(temporary, target)
    finally:
        discard(temporary)
    return CompactedDay(target, counts, file_rows, sha256, size)


def _create_inputs(
    connection: duckdb.DuckDBPyConnection,
    hourly_files: Sequence[Path],
    earlier: Sequence[EarlierDay],
) -> None:
    """The view `hourly` (the day's rows with their hour), and two small tables read once:
    `hourly_ids` (the day's Ids, which the proof counts several ways) and `earlier` (those of
    them the look-back days hold, with the latest such day: the only look-back Ids that can
    matter, so a week of Ids is never grouped or joined more than once).
    """
    connection.execute(
        f"CREATE VIEW hourly AS SELECT * FROM read_parquet({_list(hourly_files)}, {_HOURLY})"
    )
    connection.execute("CREATE TEMP TABLE hourly_ids AS SELECT Id FROM hourly")
    daily = [day.daily_file for day in earlier if day.daily_file is not None]
    hours = [path for day in earlier for path in day.hourly_files]
    parts = ["SELECT CAST(NULL AS VARCHAR) AS Id, CAST(NULL AS DATE) AS date WHERE false"]
    if daily:
        parts.append(f"SELECT Id, date FROM read_parquet({_list(daily)}, {_DAILY})")
    if hours:
        parts.append(f"SELECT Id, date FROM read_parquet({_list(hours)}, {_HOURLY})")
    connection.execute(
        "CREATE TEMP TABLE earlier AS SELECT Id, max(date) AS date FROM ("
        + " UNION ALL ".join(parts)
        + ") AS lookback SEMI JOIN hourly_ids USING (Id) GROUP BY Id"
    )


def _choose_first_deliveries(connection: duckdb.DuckDBPyConnection) -> None:
    """`chosen`: the (Id, hour) of each record's first delivery that no look-back day holds.

    Chosen on the narrow columns alone, so the window never carries `raw_json`: with it, a day
    of 200,000 Entra records (300 MB of JSON) ran out of the 256 MB limit inside the window,
    which does not spill; the sort of the wide rows that follows does. An hourly file holds an
    Id once, so (Id, hour) names one row.
    """
    connection.execute("""
        CREATE TEMP TABLE chosen AS
        SELECT Id, hour FROM (SELECT Id, content_created, content_id, hour FROM hourly)
        ANTI JOIN earlier USING (Id)
        QUALIFY row_number() OVER (
            PARTITION BY Id ORDER BY content_created, content_id, hour) = 1""")


def _write_sorted(
    connection: duckdb.DuckDBPyConnection,
    temporary: Path,
    spill: Path,
    hourly_files: Sequence[Path],
) -> None:
    """Write the chosen rows in (`CreationTime`, `Id`) order, in one sort when the day is small
    and else in `CreationTime` slices of at most about `SORT_SLICE_BYTES` each, sorted one at a
    time into the spill folder and then copied into one file in slice order.

    DuckDB's sort keeps the rows' strings in memory: a day of 200,000 Entra records (300 MB of
    `raw_json`) failed to sort under the 256 MB limit, so a big tenant-day is cut by time.
    """
    select = f"SELECT {_COLUMNS}, hour FROM hourly SEMI JOIN chosen USING (Id, hour)"
    order = "ORDER BY CreationTime NULLS LAST, Id"
    options = f"FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_ROWS}"
    bounds = _slice_bounds(connection, select, hourly_files)
    if not bounds:
        connection.execute(f"COPY ({select} {order}) TO '{_quoted(temporary)}' ({options})")
        return
    slices = []
    for number, lower in enumerate([None, *bounds]):
        upper = bounds[number] if number < len(bounds) else None
        conditions = []
        if lower is not None:
            conditions.append(f"CreationTime >= TIMESTAMPTZ '{lower.isoformat()}'")
        if upper is not None:
            conditions.append(f"CreationTime < TIMESTAMPTZ '{upper.isoformat()}'")
        where = " AND ".join(conditions)
        if upper is None:  # the last slice also holds the records without a CreationTime
            where = f"({where} OR CreationTime IS NULL)"
        path = spill / f"slice-{number:04d}.parquet"
        connection.execute(
            f"COPY ({select} WHERE {where} {order}) TO '{_quoted(path)}' ({options})"
        )
        slices.append(path)
    connection.execute(
        f"COPY (SELECT * FROM read_parquet({_list(slices)}, hive_partitioning=false)) "
        f"TO '{_quoted(temporary)}' ({options})"
    )


def _slice_bounds(
    connection: duckdb.DuckDBPyConnection, select: str, hourly_files: Sequence[Path]
) -> list[datetime]:
    """The `CreationTime` values that cut the day into slices that sort in memory (none when
    the whole day does), from the hourly files' uncompressed size in their footers.
    """
    (size,) = connection.execute(
        f"SELECT sum(total_uncompressed_size) FROM parquet_metadata({_list(hourly_files)})"
    ).fetchone()
    count = -(-int(size or 0) // SORT_SLICE_BYTES)
    if count < 2:
        return []
    fractions = ", ".join(str(step / count) for step in range(1, count))
    (bounds,) = connection.execute(
        f"SELECT quantile_disc(CreationTime, [{fractions}]) FROM ({select})"
    ).fetchone()
    return sorted({bound for bound in bounds or [] if bound is not None})


def _prove(connection: duckdb.DuckDBPyConnection, written: Path, day: date) -> DayCounts:
    """Count the written file against its inputs: every hourly record is in it or was a
    duplicate (the anti-join of the hourly Ids minus both is empty), and it holds nothing else.
    """
    connection.execute(
        f"CREATE TEMP TABLE written AS SELECT Id FROM read_parquet('{_quoted(written)}')"
    )
    row = connection.execute(
        """
        SELECT
            (SELECT count(*) FROM hourly_ids),
            (SELECT count(*) - count(DISTINCT Id) FROM hourly_ids),
            (SELECT count(DISTINCT Id) FROM hourly_ids SEMI JOIN earlier USING (Id)),
            (SELECT count(*) FROM written),
            (SELECT count(*) FROM (SELECT Id FROM hourly_ids ANTI JOIN written USING (Id))
                ANTI JOIN earlier USING (Id)),
            (SELECT count(*) FROM written ANTI JOIN hourly_ids USING (Id)),
            (SELECT coalesce(max(? - earlier.date), 0) FROM hourly_ids JOIN earlier USING (Id))
        """,
        [day],
    ).fetchone()
    return DayCounts(*(int(value) for value in row))


def _connection(spill: Path) -> duckdb.DuckDBPyConnection:
    """A private DuckDB with bounded memory (it spills to `spill` beyond the limit) and one
    thread, so the file's bytes do not depend on scheduling.
    """
    connection = duckdb.connect(config={"threads": 1})
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    connection.execute(f"SET temp_directory = '{_quoted(spill)}'")
    connection.execute("SET preserve_insertion_order = true")
    return connection


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _list(paths: Sequence[Path]) -> str:
    return "[" + ", ".join(f"'{_quoted(path)}'" for path in paths) + "]"


def _quoted(path: Path | str) -> str:
    return str(path).replace("'", "''")
