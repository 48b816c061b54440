"""`python -m o365_pipeline_tests.bench.many_tenants`: many small customers through Dagster, the
way an operator launches them, against a standalone emulator serving `--tenants N`.

Measured, each command in its own process:
- `o365-pipeline backfill --all --hours H --parallel P`: all N tenants from one command (every
  content type × H windows, one ranged run per tenant, P runs at a time in P worker processes
  that each load Dagster once): wall and CPU seconds (the command and its workers) per
  tenant-day, projected to 7 days × 100 tenants;
- `o365-pipeline backfill T --hours 2` for a few tenants: the work of one tenant's hourly
  schedule tick (it asks for the newest 2 settled windows), in CPU seconds per tenant-hour,
  projected to 100 tenants as a share of two cores.
Landed Ids are compared with the emulator's ground truth for every tenant.

Not a test: it asserts nothing about time. The figures are printed and written as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from o365_emulator.samples import numbered_tenant_id
from o365_pipeline_tests.bench.through_dagster import (
    COMMAND_SECONDS,
    deployment,
    run,
    standalone_emulator,
    timed,
)
from o365_pipeline_tests.ground_truth import ground_truth_ids

SCHEDULE_SAMPLES = 3


def main(argv: list[str] | None = None) -> int:
    """Run the measurement and print the table."""
    parser = argparse.ArgumentParser(prog="python -m o365_pipeline_tests.bench.many_tenants")
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--records-per-hour", type=int, default=20, help="per content type")
    parser.add_argument("--blobs-per-hour", type=int, default=2, help="per content type")
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--parallel", type=int, default=2, help="runs at a time")
    parser.add_argument("--out", type=Path, default=Path("data/bench_many_tenants.json"))
    args = parser.parse_args(argv)
    work = args.out.resolve().parent / "bench-many-tenants"
    work.mkdir(parents=True, exist_ok=True)
    with standalone_emulator(work, args, extra=["--tenants", str(args.tenants)]) as emulator:
        results = measure(work, emulator, args)
    args.out.write_text(json.dumps(results, indent=2))
    print_table(results, args)
    return 0


def measure(work: Path, emulator: standalone_emulator, args: argparse.Namespace) -> dict:
    """The per-tenant backfills, then the schedule-sized runs, checked against ground truth."""
    data = work / f"round-{datetime.now(UTC):%H%M%S}"
    env = deployment(emulator.base_url, emulator.ca, data)
    names = [f"customer{number:03d}" for number in range(1, args.tenants + 1)]
    for number, name in enumerate(names, start=1):
        run(["o365-pipeline", "tenants", "add", name, numbered_tenant_id(number)], env)
    backfill = timed(
        [
            "o365-pipeline",
            "backfill",
            "--all",
            "--hours",
            str(args.hours),
            "--parallel",
            str(args.parallel),
        ],
        env,
    )
    windows = _windows(data)
    truth = {
        (name, record_id)
        for number, name in enumerate(names, start=1)
        for record_id in ground_truth_ids(
            emulator.base_url,
            emulator.ca,
            numbered_tenant_id(number),
            windows,
            timeout=COMMAND_SECONDS,
        )
    }
    stored = _stored(data)
    schedule_data = work / f"schedule-{datetime.now(UTC):%H%M%S}"
    schedule_env = deployment(emulator.base_url, emulator.ca, schedule_data)
    ticks = []
    for number, name in enumerate(names[:SCHEDULE_SAMPLES], start=1):
        run(["o365-pipeline", "tenants", "add", name, numbered_tenant_id(number)], schedule_env)
        ticks.append(timed(["o365-pipeline", "backfill", name, "--hours", "2"], schedule_env))
    wall, cpu = backfill["seconds"], backfill["cpu_seconds"]
    tenant_days = args.tenants * args.hours / 24
    tick_cpu = sorted(done["cpu_seconds"] for done in ticks)[len(ticks) // 2]
    tick_wall = sorted(done["seconds"] for done in ticks)[len(ticks) // 2]
    return {
        "tenants": args.tenants,
        "hours": args.hours,
        "parallel": args.parallel,
        "returncode": backfill["returncode"],
        "windows_landed": len(windows),
        "exactly_once": not backfill["returncode"]
        and len(windows) == args.hours
        and stored == truth,
        "records": len(truth),
        "backfill_wall_seconds": round(wall, 1),
        "backfill_cpu_seconds": round(cpu, 1),
        "wall_seconds_per_tenant_day": round(wall / tenant_days, 2),
        "projected_7_days_100_tenants_hours": round(wall / tenant_days * 700 / 3600, 2),
        "peak_rss_mb": backfill["peak_rss_mb"],
        "emulator_cpu_seconds": round(emulator.cpu_seconds(), 1),
        "schedule_tick_cpu_seconds_per_tenant": tick_cpu,
        "schedule_tick_wall_seconds_per_tenant": tick_wall,
        "schedule_100_tenants_share_of_two_cores": round(100 * tick_cpu / (2 * 3600), 3),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {key: value for key, value in vars(args).items() if key != "out"},
    }


def _windows(data: Path) -> list[datetime]:
    """The distinct windows of the landed audit partitions (their `date=`/`hour=` folders)."""
    found = {
        (path.parent.parent.name.split("=", 1)[1], int(path.parent.name.split("=", 1)[1]))
        for path in data.glob("audit/*/*/date=*/hour=*/part.parquet")
    }
    return sorted(datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC) for day, hour in found)


def _stored(data: Path) -> set[tuple[str, str]]:
    """(tenant, Id) of every landed audit row."""
    files = [str(path) for path in data.glob("audit/*/*/*/*/part.parquet")]
    with duckdb.connect() as connection:
        query = f"SELECT DISTINCT tenant, Id FROM read_parquet({files!r})"
        return set(connection.execute(query).fetchall()) if files else set()


def print_table(results: dict, args: argparse.Namespace) -> None:
    rows = [
        (
            "tenants × hours (one command, runs at a time)",
            f"{results['tenants']} × {results['hours']}, {results['parallel']}",
        ),
        ("every record exactly once (all tenants)", str(results["exactly_once"])),
        ("records", str(results["records"])),
        (
            "backfill, wall / CPU (s)",
            f"{results['backfill_wall_seconds']} / {results['backfill_cpu_seconds']}",
        ),
        ("wall per tenant-day (s)", str(results["wall_seconds_per_tenant_day"])),
        ("projected 7 days × 100 tenants (h)", str(results["projected_7_days_100_tenants_hours"])),
        ("peak RSS of a backfill process (MB)", str(results["peak_rss_mb"])),
        ("emulator CPU (s)", str(results["emulator_cpu_seconds"])),
        (
            "one tenant's schedule tick, CPU / wall (s)",
            f"{results['schedule_tick_cpu_seconds_per_tenant']} / "
            f"{results['schedule_tick_wall_seconds_per_tenant']}",
        ),
        (
            "hourly schedule, 100 tenants, share of 2 cores",
            f"{results['schedule_100_tenants_share_of_two_cores']:.1%}",
        ),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    del args


if __name__ == "__main__":
    sys.exit(main())
