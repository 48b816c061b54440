"""The analyst benchmark's data: hourly partitions in the project's own layout, synthesized from
real-shaped seed rows, and every tenant-day compacted by `storage.daily_tables.compact_day`.

Both steps are spread over a pool of worker processes (two on this machine): synthesis one UTC
day per task, compaction one tenant × content type per task, its days oldest first, so that
each day's look-back finds the daily files of the days before it, as the daily schedule would.
The workers are spawned (not forked), so each one's `VmHWM` is its own peak RSS.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from o365_pipeline.content_types import CONTENT_TYPES
from o365_pipeline.records.schema import AUDIT_SCHEMA
from o365_pipeline.storage.daily_tables import compact_day, earlier_days
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline_tests.bench.week import SEED_RECORDS, _seed_rows

REDELIVERED = 0.02  # of each hour's records, delivered again in the next hour's blob
_SEED: dict = {}
_GENERATED = ("Id", "CreationTime", "tenant", "content_id", "content_created")


def tenant_names(tenants: int) -> list[str]:
    """`tenant000`, `tenant001`, …"""
    return [f"tenant{number:03d}" for number in range(tenants)]


def synthesize(
    root: Path, *, days: int, tenants: int, records_per_day: int, first: date, workers: int
) -> int:
    """Hourly partitions (`audit/…/hour=HH/part.parquet`, every `AUDIT_SCHEMA` column) for
    `days` days from `first`; returns the rows written.
    """
    task = partial(_synthesize_day, root, tenants=tenants, records_per_day=records_per_day)
    with _pool(workers) as pool:
        return sum(pool.map(task, [first + timedelta(days=offset) for offset in range(days)]))


def _synthesize_day(root: Path, day: date, *, tenants: int, records_per_day: int) -> int:
    """One UTC day of every tenant and content type. DuckDB makes only the narrow columns that
    differ per row (Id, times, tenant, blob) in (tenant, hour) order; the seed's wide columns
    (`raw_json`, …) are taken by index, and pyarrow writes each slice to its partition's file.
    """
    per_file = max(1, records_per_day // tenants // len(CONTENT_TYPES) // 24)
    start = datetime.combine(day, datetime.min.time(), UTC)
    layout = DataLayout(root)
    written = 0
    with duckdb.connect(config={"threads": 1}) as connection:
        connection.execute("SET enable_progress_bar = false")
        connection.execute("SET TimeZone = 'UTC'")
        connection.register("seed", _seed())
        copies = -(-per_file // SEED_RECORDS)
        connection.execute(
            f"CREATE TABLE base AS SELECT s.* EXCLUDE (position), "
            f"s.position + c.j * {SEED_RECORDS} AS n FROM seed s, range({copies}) c(j) "
            f"WHERE s.position + c.j * {SEED_RECORDS} < {per_file}"
        )
        for content_type in CONTENT_TYPES:
            wide = connection.sql(
                f"SELECT * FROM base WHERE content_type = '{content_type.name}' ORDER BY n"
            ).to_arrow_table()
            narrow = connection.sql(
                _narrow_sql(content_type.name, start, tenants, per_file)
            ).to_arrow_table()
            again = connection.execute(
                f"SELECT count(*) FROM base WHERE content_type = '{content_type.name}' "
                f"AND n < {per_file * REDELIVERED}"
            ).fetchone()[0]
            every_file = pa.concat_tables([wide, wide.slice(0, again)])  # zero-copy
            offset = 0
            for tenant, hour, count in connection.execute(
                "SELECT tenant, hour, count(*) FROM narrow GROUP BY ALL ORDER BY ALL"
            ).fetchall():
                path = layout.audit_file(content_type.name, tenant, start + timedelta(hours=hour))
                path.parent.mkdir(parents=True, exist_ok=True)
                if count != every_file.num_rows:
                    raise RuntimeError(f"{path}: {count} rows, not {every_file.num_rows}")
                part = narrow.slice(offset, count)
                rows = pa.table(
                    {
                        name: part[name] if name in _GENERATED else every_file[name]
                        for name in AUDIT_SCHEMA.names
                    }
                ).cast(AUDIT_SCHEMA)
                pq.write_table(rows, path, compression="zstd")
                offset += count
            written += offset
    return written


def _narrow_sql(content_type: str, start: datetime, tenants: int, per_file: int) -> str:
    names = ", ".join(f"'{tenant}'" for tenant in tenant_names(tenants))
    return f"""
        WITH hours AS (
          SELECT TIMESTAMPTZ '{start.isoformat()}' + to_hours(h.i) AS hour, t.tenant
          FROM range(24) h(i), unnest([{names}]) t(tenant)),
        base_ids AS (SELECT n, Id FROM base WHERE content_type = '{content_type}'),
        deliveries AS (
          SELECT b.n, b.Id, hours.tenant, hours.hour AS origin, hours.hour AS delivered,
                 0 AS again
          FROM base_ids b, hours
          UNION ALL
          SELECT b.n, b.Id, hours.tenant, hours.hour - INTERVAL 1 HOUR, hours.hour, 1
          FROM base_ids b, hours WHERE b.n < {per_file * REDELIVERED})
        SELECT n, md5(Id || tenant || CAST(origin AS VARCHAR) || n) AS Id,
               origin + to_minutes(CAST(hash(Id || n) % 55 AS INTEGER)) AS CreationTime,
               tenant, 'blob-' || strftime(delivered, '%H') AS content_id,
               delivered + INTERVAL 30 MINUTE AS content_created, hour(delivered) AS hour
        FROM deliveries ORDER BY tenant, delivered, again, n"""


def _seed():
    if "rows" not in _SEED:
        _SEED["rows"] = _seed_rows()
    return _SEED["rows"]


def compact_all(root: Path, *, workers: int) -> dict:
    """Compact every tenant-day; the wall time, tenant-days and the workers' peak RSS."""
    streams = sorted({folder.parent for folder in (root / "audit").glob("*/*/date=*")})
    began = time.perf_counter()
    with _pool(workers) as pool:
        results = list(pool.map(partial(_compact_stream, root), streams))
    return {
        "tenant_days": sum(days for days, _ in results),
        "seconds": time.perf_counter() - began,
        "workers": workers,
        "peak_rss_mb": max(rss for _, rss in results),
    }


def _compact_stream(root: Path, stream: Path) -> tuple[int, float]:
    """One tenant × content type, every day oldest first; (days, this worker's peak RSS)."""
    layout = DataLayout(root)
    content_type = stream.parent.name.split("=", 1)[1]
    tenant = stream.name.split("=", 1)[1]
    days = sorted(date.fromisoformat(folder.name.split("=", 1)[1]) for folder in stream.iterdir())
    for day in days:
        hours = sorted(
            (stream / f"date={day}").glob("hour=*/part.parquet"),
        )
        target = layout.daily_file(content_type, tenant, day)
        compact_day(target, day, hours, earlier_days(layout, content_type, tenant, day))
    return len(days), peak_rss_mb()


def peak_rss_mb() -> float:
    """This process's high-water RSS (`VmHWM`)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def load_average() -> str:
    """The 1/5/15-minute load averages, to print next to a timing taken on a shared machine."""
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


def _pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


def compact_one_apart(root: Path, tenant: str, day: date, scratch: Path) -> dict:
    """One Exchange tenant-day compacted again into `scratch`, in a fresh process of its own:
    its wall time and that process's peak RSS (the daily asset's cost for one partition).
    """
    with _pool(1) as pool:
        return pool.submit(_compact_one, root, tenant, day, scratch).result()


def _compact_one(root: Path, tenant: str, day: date, scratch: Path) -> dict:
    layout = DataLayout(root)
    content_type = "Audit.Exchange"
    folder = layout.audit_file(
        content_type, tenant, datetime.combine(day, datetime.min.time(), UTC)
    )
    hours = sorted(folder.parent.parent.glob("hour=*/part.parquet"))
    target = scratch / "daily" / "part.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    compacted = compact_day(target, day, hours, earlier_days(layout, content_type, tenant, day))
    return {
        "seconds": time.perf_counter() - start,
        "peak_rss_mb": peak_rss_mb(),
        "rows_written": compacted.counts.rows_written,
        "proof_holds": compacted.counts.hold,
        "load": load_average(),
    }
