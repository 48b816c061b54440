"""`python -m o365_pipeline_tests.bench.analyst_queries`: the analyst queries over `audit` with
daily tables, side by side with the old query-time de-duplication over the same hourly files.

It synthesizes `--days` × `--tenants` × 5 content types of hourly partitions at `--records-per-day`
(all tenants together; the query benchmark's 1M a day by default), with 2% of each hour
re-delivered from the hour before, compacts every tenant-day (in a child process, whose peak RSS
is reported), then times each query through the new `audit` and through `audit_old` (the previous
definition), best of 3. It also times the same rows over `--spread-tenants` tenants against one
tenant, and one tenant-day's compaction against re-reading its hours through the old view.
Not a test: it asserts nothing; the JSON goes to `--out`.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from o365_pipeline.records.schema import AUDIT_SCHEMA, COMMON_COLUMNS, INGESTION_COLUMNS
from o365_pipeline.storage.client_address import client_address_sql, client_port_sql
from o365_pipeline.storage.daily_tables import compact_day, earlier_days
from o365_pipeline.storage.layout import DataLayout
from o365_pipeline.storage.views import connect
from o365_pipeline_tests.bench.week import SEED_RECORDS, _seed_rows

REDELIVERED = 0.02
_OLD_COLUMNS = ", ".join(
    f'"{name}"' for name in (*COMMON_COLUMNS, *INGESTION_COLUMNS, "date", "hour", "raw_json")
)
OLD_AUDIT = (
    f"CREATE OR REPLACE VIEW audit_old AS SELECT {_OLD_COLUMNS}, "
    f"{client_address_sql('ClientIP')} AS client_address, "
    f"{client_port_sql('ClientIP')} AS client_port FROM audit_all "
    "QUALIFY row_number() OVER (PARTITION BY tenant, Id ORDER BY content_created, content_id) = 1"
)
QUERIES = {
    "failed sign-ins by client address": (
        "SELECT client_address, count(*) AS failures FROM {view} "
        "WHERE Operation = 'UserLoginFailed' GROUP BY ALL ORDER BY failures DESC LIMIT 20"
    ),
    "one user's day": (
        "SELECT CreationTime, Workload, Operation, ObjectId FROM {view} "
        "WHERE UserId = $user AND CreationTime >= $day AND CreationTime < $day + INTERVAL 1 DAY "
        "ORDER BY CreationTime"
    ),
    "one user's hour": (
        "SELECT * FROM {view} WHERE UserId = $user "
        "AND CreationTime >= $hour AND CreationTime < $hour + INTERVAL 1 HOUR"
    ),
    "files downloaded (raw_json field)": (
        "SELECT raw_json->>'$.SourceFileName' AS file, count(*) FROM {view} "
        "WHERE Operation = 'FileDownloaded' GROUP BY ALL ORDER BY 2 DESC LIMIT 20"
    ),
    "counts by operation": "SELECT Operation, count(*) FROM {view} GROUP BY ALL ORDER BY 2 DESC",
    "count(*)": "SELECT count(*) FROM {view}",
}


def synthesize(root: Path, *, days: int, tenants: int, records_per_day: int, first: date) -> int:
    """Hourly partitions in the project's layout; returns the rows written."""
    seed = _seed_rows()
    (root / "audit").mkdir(parents=True, exist_ok=True)
    per_file = max(1, records_per_day // tenants // 5 // 24)
    copies = -(-per_file // SEED_RECORDS)
    kept = [
        f'"{name}"'
        for name in AUDIT_SCHEMA.names
        if name not in ("Id", "CreationTime", "tenant", "content_id", "content_created")
    ]
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        connection.register("seed", seed)
        connection.execute(
            f"CREATE TABLE base AS SELECT s.* EXCLUDE (position, tenant), c.j, "
            f"s.position + c.j * {SEED_RECORDS} AS n FROM seed s, range({copies}) c(j) "
            f"WHERE s.position + c.j * {SEED_RECORDS} < {per_file}"
        )
        for offset in range(days):
            start = datetime.combine(first + timedelta(days=offset), datetime.min.time(), UTC)
            connection.execute(f"""
                COPY (
                  WITH hours AS (
                    SELECT TIMESTAMPTZ '{start.isoformat()}' + to_hours(h.i) AS hour,
                           'tenant' || lpad(CAST(t.k AS VARCHAR), 3, '0') AS tenant
                    FROM range(24) h(i), range({tenants}) t(k)),
                  rows AS (
                    SELECT b.*, hours.tenant, hours.hour AS origin, hours.hour AS delivered
                    FROM base b, hours
                    UNION ALL
                    SELECT b.*, hours.tenant, hours.hour - INTERVAL 1 HOUR, hours.hour
                    FROM base b, hours WHERE b.n < {per_file * REDELIVERED})
                  SELECT md5(Id || tenant || CAST(origin AS VARCHAR) || n) AS Id,
                         origin + to_minutes(CAST(hash(Id || n) % 55 AS INTEGER)) AS CreationTime,
                         {", ".join(kept)}, tenant,
                         'blob-' || strftime(delivered, '%H') AS content_id,
                         delivered + INTERVAL 30 MINUTE AS content_created,
                         strftime(delivered, '%Y-%m-%d') AS date,
                         hour(delivered) AS hour
                  FROM rows
                ) TO '{root / "audit"}' (FORMAT parquet, COMPRESSION zstd, OVERWRITE_OR_IGNORE,
                      FILENAME_PATTERN 'part', PARTITION_BY (content_type, tenant, date, hour))""")
        return connection.execute(
            f"SELECT count(*) FROM read_parquet('{root}/audit/*/*/*/*/*.parquet')"
        ).fetchone()[0]


def compact_all(root: Path) -> dict:
    """Compact every tenant-day, oldest first (this runs in its own process)."""
    layout = DataLayout(root)
    began = time.perf_counter()
    count = 0
    for day_folder in sorted((root / "audit").glob("*/*/date=*"), key=lambda p: p.name):
        content_type = day_folder.parent.parent.name.split("=", 1)[1]
        tenant = day_folder.parent.name.split("=", 1)[1]
        day = date.fromisoformat(day_folder.name.split("=", 1)[1])
        hours = sorted(day_folder.glob("hour=*/*.parquet"))
        target = layout.daily_file(content_type, tenant, day)
        compact_day(target, day, hours, earlier_days(layout, content_type, tenant, day))
        count += 1
    seconds = time.perf_counter() - began
    return {"tenant_days": count, "seconds": seconds, "peak_rss_mb": _peak_rss_mb()}


def _peak_rss_mb() -> float:
    """This process's high-water RSS (`VmHWM`: unlike `ru_maxrss`, not carried over from the
    parent that spawned it).
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def time_queries(root: Path, repeats: int = 3) -> dict:
    """Best-of-`repeats` seconds per query, new `audit` and old side by side."""
    began = time.perf_counter()
    with connect(root) as connection:
        views_seconds = time.perf_counter() - began
        connection.execute(OLD_AUDIT)
        user, moment = connection.execute(
            "SELECT UserId, CreationTime FROM audit WHERE UserId LIKE '%@%' "
            "ORDER BY hash(Id) LIMIT 1"
        ).fetchone()
        params = {
            "user": user,
            "hour": moment.replace(minute=0, second=0),
            "day": moment.replace(hour=0, minute=0, second=0),
        }
        results = {}
        for name, sql in QUERIES.items():
            results[name] = {}
            for view in ("audit", "audit_old"):
                text = sql.format(view=view)
                wanted = {key: value for key, value in params.items() if f"${key}" in text}
                best = float("inf")
                for _ in range(repeats):
                    start = time.perf_counter()
                    connection.execute(text, wanted).fetchall()
                    best = min(best, time.perf_counter() - start)
                results[name][view] = best
    return {"views_seconds": views_seconds, "queries": results}


def compaction_against_old_view(root: Path) -> dict:
    """One tenant-day: compacting it against re-reading its rows through the old view."""
    layout = DataLayout(root)
    folder = sorted((root / "audit").glob("content_type=Audit.Exchange/*/date=*"))[-1]
    tenant = folder.parent.name.split("=", 1)[1]
    day = date.fromisoformat(folder.name.split("=", 1)[1])
    hours = sorted(folder.glob("hour=*/*.parquet"))
    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch) / "daily" / "part.parquet"
        target.parent.mkdir()
        start = time.perf_counter()
        compact_day(target, day, hours, earlier_days(layout, "Audit.Exchange", tenant, day))
        compaction = time.perf_counter() - start
        with connect(root) as connection:
            connection.execute(OLD_AUDIT)
            start = time.perf_counter()
            connection.execute(
                f"COPY (SELECT * FROM audit_old WHERE tenant = ? AND content_type = "
                f"'Audit.Exchange' AND date = ? ORDER BY CreationTime) TO '{scratch}/old.parquet'",
                [tenant, day],
            )
            old = time.perf_counter() - start
    return {"compaction_seconds": compaction, "old_view_seconds": old, "speedup": old / compaction}


def main(argv: list[str] | None = None) -> int:
    """Build, compact, time, print and write the JSON."""
    parser = argparse.ArgumentParser(prog="python -m o365_pipeline_tests.bench.analyst_queries")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--records-per-day", type=int, default=1_000_000, help="all tenants")
    parser.add_argument("--spread-tenants", type=int, default=100)
    parser.add_argument("--spread-days", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("data/bench_analyst.json"))
    parser.add_argument("--compact-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.compact_only:
        print(json.dumps(compact_all(args.compact_only)))
        return 0
    first = (datetime.now(UTC) - timedelta(days=args.days + 3)).date()
    results: dict = {"args": {k: str(v) for k, v in vars(args).items()}}
    with tempfile.TemporaryDirectory(prefix="o365-analyst-") as scratch:
        main_root = Path(scratch) / "main"
        results["main"] = _dataset(main_root, args.days, args.tenants, args.records_per_day, first)
        results["compaction_vs_old_view"] = compaction_against_old_view(main_root)
        spread_rows = args.records_per_day * args.spread_days // max(1, args.days)
        for tenants in (1, args.spread_tenants):
            root = Path(scratch) / f"spread{tenants}"
            results[f"spread_{tenants}"] = _dataset(
                root, args.spread_days, tenants, spread_rows, first
            )
    _print(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nwritten: {args.out}")
    return 0


def _dataset(root: Path, days: int, tenants: int, records_per_day: int, first: date) -> dict:
    start = time.perf_counter()
    rows = synthesize(
        root, days=days, tenants=tenants, records_per_day=records_per_day, first=first
    )
    built = time.perf_counter() - start
    compaction = json.loads(
        subprocess.run(
            [
                sys.executable,
                "-m",
                "o365_pipeline_tests.bench.analyst_queries",
                "--compact-only",
                str(root),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    return {"rows": rows, "build_seconds": built, "compaction": compaction, **time_queries(root)}


def _print(results: dict) -> None:
    for name in ("main", *[key for key in results if key.startswith("spread_")]):
        part = results[name]
        compaction = part["compaction"]
        print(
            f"\n{name}: {part['rows']:,} hourly rows; {compaction['tenant_days']} tenant-days "
            f"compacted in {compaction['seconds']:.1f} s "
            f"(peak RSS {compaction['peak_rss_mb']} MB); "
            f"views made in {part['views_seconds']:.2f} s"
        )
        for query, seconds in part["queries"].items():
            print(
                f"  {query:<36} audit {seconds['audit'] * 1000:8.0f} ms   "
                f"old {seconds['audit_old'] * 1000:8.0f} ms"
            )
    side = results["compaction_vs_old_view"]
    print(
        f"\none tenant-day: compaction {side['compaction_seconds']:.3f} s, re-read through the old "
        f"view {side['old_view_seconds']:.3f} s ({side['speedup']:.1f}×)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
